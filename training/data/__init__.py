"""Building the training data: the document split (`splits`), the worker processes of a parallel
build (`build_workers`) and the build itself (`dataset`). Imports `inputs` and `weak`."""
