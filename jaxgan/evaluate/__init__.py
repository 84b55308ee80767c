"""Sample-quality checks that need no pretrained network."""
