"""`logdepth explain`: one forward pass as a self-contained HTML page (docs/explain.md).

`run.py` traces the model and decodes what the paper's construction promises at every level
(reusing the decoders of `logdepth.verify`), `elements.py` names monoid elements, `layers.py`
says which cells each layer reads and writes, `png.py` draws attention maps as tiny PNGs and
`page.py` writes the HTML (with `page.css` and `page.js` inlined).
"""

from logdepth.explain.page import render_html
from logdepth.explain.run import explain_graph, explain_word

__all__ = ["explain_graph", "explain_word", "render_html"]
