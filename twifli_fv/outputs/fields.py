"""VTK time series of the fields: one ``.vti`` per frame and a ``.pvd`` collection that lists them."""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from twifli_fv.outputs.files import atomic_path


def write_pvd(path: str | Path, frames: list[tuple[float, str]]) -> Path:
    """ParaView collection of ``(time_s, .vti file name relative to the pvd)``."""
    entries = "\n".join(
        f'    <DataSet timestep="{time:.6g}" group="" part="0" file={quoteattr(name)}/>' for time, name in frames
    )
    text = (
        '<?xml version="1.0"?>\n<VTKFile type="Collection" version="0.1" byte_order="LittleEndian">\n'
        f"  <Collection>\n{entries}\n  </Collection>\n</VTKFile>\n"
    )
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
