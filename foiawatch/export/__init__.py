"""Archive artefacts to hand on: BagIt bags and WARC copies (``bagit``), and section bundles (``bundle``)."""
