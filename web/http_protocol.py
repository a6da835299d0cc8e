"""The protocol class `uvicorn --http web.http_protocol:HttpToolsProtocol` serves with (Procfile, compose, tests).

One write per answer (common/adapters/uvicorn.py) while the uvicorn adapter is active; uvicorn's own httptools
protocol when `LIBRARY_ADAPTERS` is off or another uvicorn version is installed.
"""
from common.adapters.uvicorn import http_protocol
from common.config import get_settings

HttpToolsProtocol = http_protocol(get_settings())
