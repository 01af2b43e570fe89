"""The HTTP server: KServe V2 (``/v2``) and the seed's ``/api/v1``, over FastAPI + uvicorn.

``create_app(settings)`` builds the ASGI app; :mod:`dataplane` holds the protocol logic with
no HTTP in it; :mod:`repository` the Triton-layout model repository; :mod:`codec_kserve`,
:mod:`codec_json` and :mod:`codec_binary` the wire formats.
"""
