"""Batch prediction over files and folders of articles, resumable and sharded across processes
(`batch_predict`). Imports `model`, `inputs` and `analysis`."""
