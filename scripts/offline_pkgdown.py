"""Make a pkgdown 2.0 site load nothing from the network.

    python scripts/offline_pkgdown.py SITE_DIR

pkgdown 2.0.7 (the version Debian ships; CRAN is out of reach here) writes into every page
``<script>``/``<link>`` tags that fetch helpers from CDNs: Font Awesome icons, headroom, clipboard,
autocomplete, fuse and mark (the search box), bootstrap-toc, MathJax 2 and respond.js (Debian's
build points MathJax at the building machine's /usr/share/javascript instead). This removes
those tags, and pkgdown.js, which calls the removed helpers. Bootstrap, jQuery and the style sheet
are local (bslib) and stay. The pages keep all their text, code, examples and figures; they lose
the search box, copy buttons, the sticky navigation bar and icons. Prints what it removed.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

#: a source outside the site: another host, or (Debian's pkgdown) a file of the building machine
#: such as file:///usr/share/javascript/mathjax/MathJax.js
OUTSIDE = r'(?:(?:https?:)?//|file:|/)'
REMOTE = re.compile(
    rf'<script\b[^>]*\bsrc="{OUTSIDE}[^"]*"[^>]*>\s*</script>\s*'
    rf'|<link\b[^>]*\bhref="{OUTSIDE}[^"]*"[^>]*>\s*'
    r'|<script\b[^>]*\bsrc="[^"]*pkgdown\.js"[^>]*>\s*</script>\s*', re.I)
#: tags that load (not links a reader follows): a <link> to a remote style sheet or icon, a script
LOADS = re.compile(rf'<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)="{OUTSIDE}', re.I)


def main(site: Path) -> int:
    pages = sorted(site.rglob("*.html"))
    if not pages:
        print(f"[docs] {site} has no pages", file=sys.stderr)
        return 1
    removed = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        new, n = REMOTE.subn("", text)
        removed += n
        left = LOADS.findall(new)
        if left:
            print(f"[docs] {page}: still loads from the network: {left[:3]}", file=sys.stderr)
            return 1
        if n:
            page.write_text(new, encoding="utf-8")
    print(f"[docs] pkgdown site offline: {removed} remote tags removed from {len(pages)} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
