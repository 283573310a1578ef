"""Evidence a reviewer can check: an annotated JPEG per event, where it is kept, the HTML report.

Sits above ``vision`` (image decoding) and ``session`` (the record); imports neither Ray nor FastAPI.
"""
