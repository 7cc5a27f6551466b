"""Small helpers for ISO 20022 XML: building with lxml, and reading by local names."""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from autofin.bankfiles.records import BankFileError

MAX_XML_BYTES = 64 * 1024 * 1024
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_blank_text=True)


def sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{parent.nsmap[None]}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def document(message: str) -> etree._Element:
    """An empty ISO 20022 Document of `message` (e.g. 'camt.054.001.08') in its namespace."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:{message}"
    return etree.Element(f"{{{ns}}}Document", nsmap={None: ns})


def timestamp(value) -> str:  # noqa: ANN001
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def group_header(parent: etree._Element, message_id: str, created_at) -> etree._Element:  # noqa: ANN001
    """GrpHdr with MsgId and CreDtTm, the opening of every ISO 20022 message."""
    hdr = sub(parent, "GrpHdr")
    sub(hdr, "MsgId", message_id)
    sub(hdr, "CreDtTm", timestamp(created_at))
    return hdr


def path(parent: etree._Element, *tags: str) -> etree._Element:
    el = parent
    for tag in tags:
        el = sub(el, tag)
    return el


def parse_xml(data: bytes) -> etree._Element:
    if len(data) > MAX_XML_BYTES:
        raise BankFileError(f"file is {len(data):,} bytes, above the {MAX_XML_BYTES:,} byte limit")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise BankFileError(f"not well-formed XML: {exc}") from None


def namespace(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


@lru_cache(maxsize=4096)
def _compiled(namespace: str, path: str) -> etree.XPath:
    if not namespace:
        return etree.XPath(path)
    return etree.XPath("/".join(f"n:{step}" for step in path.split("/")), namespaces={"n": namespace})


def _namespace(el: etree._Element) -> str:
    tag = el.tag
    return tag[1:tag.index("}")] if tag.startswith("{") else ""


def find(el: etree._Element, path: str) -> etree._Element | None:
    """'GrpHdr/MsgId' in the element's own namespace, by an XPath compiled once per namespace and path."""
    found = _compiled(_namespace(el), path)(el)
    return found[0] if found else None


def findall(el: etree._Element, path: str) -> list[etree._Element]:
    return _compiled(_namespace(el), path)(el)


def text_of(el: etree._Element, xpath: str, *, required: bool = True) -> str | None:
    node = find(el, xpath)
    if node is None or node.text is None:
        if required:
            raise BankFileError(f"missing {xpath}")
        return None
    return node.text.strip()


def serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
