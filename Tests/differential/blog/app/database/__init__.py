# Vendored test data for Tests/integration/test_differential.py, not product code.
# Source: GitHub pipoupiwam/fastapi-blog, commit 3006359809228b33b8f2ac179cee43e26df6907d, file app/database/__init__.py, unchanged below this header.
# Licence: the repository states none (no LICENSE file at that commit); see Tests/differential/README.md.

