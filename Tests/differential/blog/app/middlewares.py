# Vendored test data for Tests/integration/test_differential.py, not product code.
# Source: GitHub pipoupiwam/fastapi-blog, commit 3006359809228b33b8f2ac179cee43e26df6907d, file app/middlewares.py, unchanged below this header.
# Licence: the repository states none (no LICENSE file at that commit); see Tests/differential/README.md.

import logging
import time

# from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware

logger = logging.getLogger("blog-logger.middlewares")


class LogExecutionTimeMiddleware(BaseHTTPMiddleware):
    async def dispatch(self, request, call_next):
        start_time = time.time()
        response = await call_next(request)
        process_time = time.time() - start_time
        logger.debug(f"{request.method} {request.url} executed in {process_time:.5f} seconds")
        return response
