"""state parsed of libvirt XML: every complete <interface> example of libvirt's documentation
(../shared/reference/libvirt-domain-interface-xml.rst.patch, extracted here, none listed by
hand) is parsed into config items, rendered again through state rendered, and compared with the
original as element trees (whitespace, comments, attribute order and the order of sibling
elements ignored: libvirt's schema interleaves them). Nothing is dropped and nothing added.
"""

import os
import re

import pytest

from ansible_collections.hypervisor.networking.plugins.module_utils.engine import converge
from ansible_collections.hypervisor.networking.plugins.module_utils.errors import ValidationError
from ansible_collections.hypervisor.networking.plugins.module_utils.resource.interface import InterfaceResource

etree = pytest.importorskip("lxml.etree")

REFERENCE = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference", "libvirt-domain-interface-xml.rst.patch")
REFERENCE = os.environ.get("HV_LIBVIRT_INTERFACE_REFERENCE", REFERENCE)
if not os.path.exists(REFERENCE):
    REFERENCE = "/work/shared/reference/libvirt-domain-interface-xml.rst.patch"


def reference_examples():
    """(kept, left out) <interface> examples of the documentation's literal blocks. An example is
    complete when it parses as XML and elides nothing ('...'); the others are fragments."""
    with open(REFERENCE, encoding="utf-8") as handle:
        text = handle.read()
    start = text.index("+++ b/docs/formatdomain-devices-interface.rst")
    end = text.index("diff --git", start)
    # the patch's added lines, as the .rst file had them (the mail also wrapped some long lines)
    lines = [line[1:] if line.startswith("+") else line for line in text[start:end].splitlines()[1:]]
    blocks, block, in_block = [], [], False
    for line in lines:
        if line.rstrip().endswith("::"):
            in_block, block = True, []
        elif in_block and not line.strip() and block:
            blocks.append("\n".join(block))
            in_block = False
        elif in_block and line.strip():
            block.append(line)
    kept, fragments = [], []
    for block in blocks:
        for match in re.finditer(r"<interface\b[^>]*?/>|<interface\b.*?</interface>", block, re.S):
            example = match.group()
            try:
                etree.fromstring(example)
            except etree.XMLSyntaxError:
                fragments.append(example)
                continue
            if "type=" not in example.split(">")[0] or example in kept:
                continue  # a host interface name of another element's example, or shown twice
            (fragments if "..." in example else kept).append(example)
    return kept, fragments


def completed(fragment):
    """A fragment made a whole <interface>: the elided parts ('...') dropped, a type and source
    given where the fragment elides them. The ethernet one is left out: its two empty <source/>
    are placeholders of the text, not configuration."""
    if "<source/>" in fragment:
        return None
    lines = [line for line in fragment.splitlines() if line.strip() != "..."]
    text = "\n".join(lines)
    if text.startswith("<interface ...>"):
        text = "<interface type='network'>\n<source network='default'/>" + text[len("<interface ...>"):]
    elif "<source" not in text:
        text = text.replace("</vlan>", "</vlan>\n<source bridge='ovsbr0'/>\n<virtualport type='openvswitch'/>")
    return text


EXAMPLES, FRAGMENTS = reference_examples()
COMPLETED = [text for text in map(completed, FRAGMENTS) if text]


def canonical(element):
    """An element as a comparable value: tag, sorted attributes, stripped text, sorted children."""
    children = sorted(canonical(child) for child in element if isinstance(child.tag, str))
    return (element.tag, tuple(sorted(element.attrib.items())), (element.text or "").strip(), tuple(children))


def parsed(xml):
    return converge(InterfaceResource(), {"state": "parsed", "running_config": xml}, False)["parsed"]


def rendered(items):
    return [entry["libvirt"] for entry in
            converge(InterfaceResource(), {"state": "rendered", "config": items, "targets": ["libvirt"]}, False)["rendered"]]


def test_the_reference_has_the_examples_expected():
    """Guards the extraction: every complete example of the document, and the fragments left out."""
    assert len(EXAMPLES) == 38
    assert len(FRAGMENTS) == 4 and len(COMPLETED) == 3


@pytest.mark.parametrize("example", EXAMPLES + COMPLETED, ids=["example%02d" % index for index in range(len(EXAMPLES))]
                         + ["fragment%d" % index for index in range(len(COMPLETED))])
def test_parse_then_render_gives_the_example_back(example):
    items = parsed(example)
    assert len(items) == 1
    (xml,) = rendered(items)
    assert canonical(etree.fromstring(xml)) == canonical(etree.fromstring(example)), (items, xml)
    assert parsed(xml) == items  # and the rendering parses to the same items


HOSTDEV_SOURCE = "<source><address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x2'/></source>"


@pytest.mark.parametrize("driver, assignment", [("", None), ("<driver name='vfio'/>", "vfio"), ("<driver name='kvm'/>", "kvm")])
def test_a_hostdev_s_driver_follows_the_xml(driver, assignment):
    """No <driver> parses to no assignment and renders none (libvirt chooses VFIO); a name round-trips."""
    example = "<interface type='hostdev' managed='yes'>%s%s<mac address='52:54:00:6d:90:02'/></interface>" % (driver, HOSTDEV_SOURCE)
    (item,) = parsed(example)
    assert item.get("assignment") == assignment
    (xml,) = rendered([item])
    assert canonical(etree.fromstring(xml)) == canonical(etree.fromstring(example)), xml
    assert ("<driver" in xml) == bool(driver)


def test_a_hostdev_driver_libvirt_does_not_know_names_the_allowed_ones():
    with pytest.raises(ValidationError) as failure:
        parsed("<interface type='hostdev'><driver name='uio'/>%s</interface>" % HOSTDEV_SOURCE)
    assert "running_config.interface[0].driver.name: uio: vm_interface represents vfio, kvm, xen for hostdev" in str(failure.value)


def test_a_whole_domain_gives_every_interface():
    domain = "<domain type='kvm'><name>hvt-dom</name><devices>%s</devices></domain>" % "".join(EXAMPLES[:4])
    items = parsed(domain)
    assert len(items) == 4
    assert sorted(canonical(etree.fromstring(xml)) for xml in rendered(items)) == sorted(
        canonical(etree.fromstring(example)) for example in EXAMPLES[:4])


@pytest.mark.parametrize("xml, message", [
    ("<interface type='network'><source network='default'/><frobnicate/></interface>",
     "running_config.interface[0].frobnicate: <frobnicate> is an element of <interface> vm_interface does not represent"),
    ("<interface type='vds'/>", "running_config.interface[0].type: vds is not a libvirt interface type"),
    ("<interface type='network'><source network='default' colour='red'/></interface>",
     "running_config.interface[0].source.colour: is an attribute of <source>"),
    ("<interface type='bridge'><source bridge='br0'/><bandwidth><inbound average='x'/></bandwidth></interface>",
     "running_config.interface[0].bandwidth.inbound.average: 'x' is not a number"),
    ("<network/>", "running_config: <network> is neither a libvirt <interface> nor a <domain>"),
    ("<interface", "running_config: is not well-formed XML"),
])
def test_what_cannot_be_represented_is_an_error_naming_it(xml, message):
    with pytest.raises(ValidationError) as failure:
        parsed(xml)
    assert message in str(failure.value)


def test_a_running_domain_s_source_says_to_read_the_inactive_definition():
    running = ("<interface type='network'><source network='default' portid='5e1c5d7a-3b3e-4c55-9a3e-1f0e7c2d9a10' bridge='virbr0'/>"
               "<target dev='vnet0'/></interface>")
    with pytest.raises(ValidationError) as failure:
        parsed(running)
    assert "running_config.interface[0].source.portid: is an attribute of <source> vm_interface does not represent for type network;" \
           " it is a running domain's: read 'virsh dumpxml --inactive'" in str(failure.value)


def test_parsed_items_manage_the_collection_s_own_tap():
    """An ethernet interface with an unmanaged target is a tap the collection can build: not render-only."""
    (item,) = parsed("<interface type='ethernet'><target dev='hvt-t0' managed='no'/><model type='virtio'/>"
                     "<mac address='52:54:00:00:00:41'/><driver queues='2'/></interface>")
    assert item == {"name": "hvt-t0", "kind": "tap", "guest": {"mac": "52:54:00:00:00:41", "model": "virtio", "queues": 2}}
    (entry,) = converge(InterfaceResource(), {"state": "rendered", "config": [item]}, False)["rendered"]
    assert entry["commands"][0] == "ip tuntap add name hvt-t0 mode tap vnet_hdr multi_queue"
