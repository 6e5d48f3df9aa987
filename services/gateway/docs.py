"""`GET /docs`: the API's description as a page for people, Swagger UI 5 over `/openapi.json`.

Every asset is served by the gateway itself from the `swagger-ui-bundle-v2` package (the
swagger-ui-dist files, its version being Swagger UI's: 5.x renders OpenAPI 3.1, 4.x cannot), so
the page works without reaching any CDN. The page links its assets relative to itself, which
keeps it working behind a proxy that mounts the gateway under a path prefix, and its Content
Security Policy lets the browser load nothing from anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from swagger_ui_bundle import swagger_ui_path

# Swagger UI sets inline styles and shows its logo and icons as data: URIs.
_POLICY = (
    b"default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    b"frame-ancestors 'none'"
)
_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Joist API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32">
  <style>body { margin: 0; background: #fafafa; }</style>
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""
# Relative to the page, as the assets: `/openapi.json` beside `/docs`.
_INIT = b"""window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
"""
_FILES = {  # served name: content type
    "swagger-ui.css": b"text/css; charset=utf-8",
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "favicon-32x32.png": b"image/png",
}
_NO_SNIFF = (b"x-content-type-options", b"nosniff")


class Asset(NamedTuple):
    """One response of the docs: its content type, body and extra headers."""

    content_type: bytes
    body: bytes
    headers: list[tuple[bytes, bytes]]


def docs_assets() -> dict[str, Asset]:
    """The page at `/docs` and its assets under `/docs/`, by path, read once from the package."""
    folder = Path(str(swagger_ui_path))
    # The assets change only with the package (a new gateway image): a day is safe, and the
    # page itself is revalidated every time so that a new image shows at once.
    cached = [_NO_SNIFF, (b"cache-control", b"public, max-age=86400")]
    assets = {
        "/docs": Asset(
            b"text/html; charset=utf-8",
            _PAGE,
            [_NO_SNIFF, (b"cache-control", b"no-cache"), (b"content-security-policy", _POLICY)],
        ),
        "/docs/init.js": Asset(b"text/javascript; charset=utf-8", _INIT, cached),
    }
    for name, content_type in _FILES.items():
        assets[f"/docs/{name}"] = Asset(content_type, (folder / name).read_bytes(), cached)
    return assets
