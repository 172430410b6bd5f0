"""`nvidia-smi -q -x` parser against the telegraf captures (DTD v12, v13 and a
pre-DTD 418 driver) and inline variants: R610+ renames, MIG, truncation, and
XML that tries to declare entities or fetch a DTD.

Source-note facts outside the return shape (DTD name, architecture,
fb_reserved, mig_mode) are not asserted: the doctor does not use them.
"""

from __future__ import annotations

import pytest
from conftest import load_capture

from csm_doctor.parsers.nvidia_smi_xml import looks_like_query_xml, parse_query_xml

FOLDER = "nvidia-smi-xml"

# (file, driver, cuda, attached_gpus, [(bus id, name, total, used, free, driver model)])
XML_FACTS = [
    ("telegraf-a100-sxm4-v12.xml", "535.54.03", "12.2", 4,
     [("00000000:01:00.0", "NVIDIA A100-SXM4-80GB", 81920, 50, 80999, None)]),
    ("telegraf-dual_2070-v13.xml", "590.44.01", "13.1", 2,
     [("00000000:01:00.0", "NVIDIA GeForce RTX 2070", 8192, 1, 7786, None),
      ("00000000:02:00.0", "NVIDIA GeForce RTX 2070", 8192, 1, 7786, None)]),
    ("telegraf-quadro-p400.xml", "418.43", "10.1", 1,
     [("00000000:43:00.0", "Quadro P400", 1998, 0, 1998, None)]),
    ("telegraf-rtx-3080-v12.xml", "536.40", "12.2", 1,
     [("00000000:04:00.0", "NVIDIA GeForce RTX 3080", 10240, 1128, 8938, "WDDM")]),
]


def load(name: str) -> str:
    return load_capture(FOLDER, name)


@pytest.mark.parametrize("name, driver, cuda, attached, gpus", XML_FACTS)
def test_fixture_key_facts(name, driver, cuda, attached, gpus):
    result = parse_query_xml(load(name))
    assert (result["driver_version"], result["cuda_version"], result["attached_gpus"]) == (driver, cuda, attached)
    assert [(g["bus_id"], g["name"], g["memory_total_mib"], g["memory_used_mib"], g["memory_free_mib"],
             g["driver_model"]) for g in result["gpus"]] == gpus
    assert [g["index"] for g in result["gpus"]] == list(range(len(gpus)))
    assert all(g["compute_capability"] is None and g["name_truncated"] is False for g in result["gpus"])
    assert looks_like_query_xml(load(name))


def test_records_have_the_table_parsers_shapes():
    from csm_doctor.parsers.nvidia_smi import parse_table

    table = parse_table(load_capture(
        "nvidia-smi-table", "exporter-windows-x86_64__nvidia-geforce-rtx-2080-super__591.86__idle.txt"))
    xml = parse_query_xml(load("telegraf-rtx-3080-v12.xml"))
    assert set(xml["gpus"][0]) == set(table["gpus"][0])
    assert set(xml["processes"][0]) == set(table["processes"][0])


def test_attached_gpus_may_exceed_gpu_elements():
    result = parse_query_xml(load("telegraf-a100-sxm4-v12.xml"))
    assert result["attached_gpus"] == 4 and len(result["gpus"]) == 1


def test_mig_slice_memory_is_not_the_gpus_memory():
    gpu = parse_query_xml(load("telegraf-a100-sxm4-v12.xml"))["gpus"][0]
    assert gpu["memory_total_mib"] == 81920  # the MIG devices report 19968 MiB each


def test_processes():
    result = parse_query_xml(load("telegraf-rtx-3080-v12.xml"))
    assert len(result["processes"]) == 5
    assert result["processes"][0] == {"gpu_index": 0, "pid": 835, "type": "G", "name": "/usr/lib/Xorg",
                                      "memory_mib": 550}
    assert parse_query_xml(load("telegraf-dual_2070-v13.xml"))["processes"] == []


def test_never_returns_uuids_or_serials():
    text = load("telegraf-rtx-3080-v12.xml")
    assert "GPU-19d6d965" in text
    assert "GPU-19d6d965" not in repr(parse_query_xml(text))


def test_truncated_paste_keeps_what_was_read():
    text = load("telegraf-dual_2070-v13.xml")
    cut = text[: text.index("<product_brand>", text.index('<gpu id="00000000:02:00.0">'))]
    result = parse_query_xml(cut)
    assert [g["name"] for g in result["gpus"]] == ["NVIDIA GeForce RTX 2070", "NVIDIA GeForce RTX 2070"]
    assert result["gpus"][0]["memory_total_mib"] == 8192
    assert result["gpus"][1]["memory_total_mib"] is None  # its fb_memory_usage was cut off
    assert result["driver_version"] == "590.44.01"


def test_noise_crlf_and_ansi_around_the_xml():
    text = load("telegraf-quadro-p400.xml")
    noisy = "PS C:\\Users\\bob> nvidia-smi -q -x\r\n\x1b[0m" + text.replace("\n", "\r\n") + "\r\nPS C:\\Users\\bob> "
    assert parse_query_xml(noisy) == parse_query_xml(text)


_R610 = """<?xml version="1.0" ?>
<!DOCTYPE nvidia_smi_log SYSTEM "nvsmi_device_v14.dtd">
<nvidia_smi_log>
    <driver_version>Deprecated, see "KMD version" instead</driver_version>
    <kmd_version>610.57.04</kmd_version>
    <cuda_version>Deprecated, see "CUDA UMD version" instead</cuda_version>
    <cuda_umd_version>13.3</cuda_umd_version>
    <attached_gpus>1</attached_gpus>
    <gpu id="00000000:0C:00.0">
        <product_name>NVIDIA GeForce RTX 2080 SUPER</product_name>
        <fb_memory_usage><total>8192 MiB</total><used>[N/A]</used><free>7980 MiB</free></fb_memory_usage>
        <cuda_compute_capability><major>7</major><minor>5</minor></cuda_compute_capability>
    </gpu>
</nvidia_smi_log>
"""


def test_r610_kmd_and_umd_versions_win_over_deprecated_placeholders():
    result = parse_query_xml(_R610)
    assert (result["driver_version"], result["cuda_version"]) == ("610.57.04", "13.3")
    gpu = result["gpus"][0]
    assert (gpu["memory_total_mib"], gpu["memory_used_mib"], gpu["compute_capability"]) == (8192, None, "7.5")


def test_deprecated_placeholder_alone_is_never_a_version():
    text = _R610.replace("<kmd_version>610.57.04</kmd_version>", "").replace(
        "<cuda_umd_version>13.3</cuda_umd_version>", "")
    result = parse_query_xml(text)
    assert (result["driver_version"], result["cuda_version"]) == (None, None)


@pytest.mark.parametrize(
    "doctype",
    [
        # billion laughs: an internal subset declaring nested entities
        ('<!DOCTYPE nvidia_smi_log [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
         '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'),
        # external entity pointing at a local file and at the network
        '<!DOCTYPE nvidia_smi_log [<!ENTITY c SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE nvidia_smi_log SYSTEM "http://127.0.0.1:9/evil.dtd">',
    ],
)
def test_no_entity_is_ever_expanded_or_fetched(doctype):
    text = (f'<?xml version="1.0"?>\n{doctype}\n<nvidia_smi_log><driver_version>550.90.07</driver_version>'
            '<gpu id="00000000:01:00.0"><product_name>&c;</product_name></gpu></nvidia_smi_log>')
    result = parse_query_xml(text)
    assert result["driver_version"] == "550.90.07"  # read before the undeclared entity stopped the parse
    assert "root:" not in repr(result) and "aaaa" not in repr(result)


@pytest.mark.parametrize("text", ["", "not xml at all", "<nvidia_smi_log", "<other/>", "<nvidia_smi_log>&&&"])
def test_not_xml_output(text):
    assert parse_query_xml(text) == {"driver_version": None, "cuda_version": None, "attached_gpus": None,
                                     "gpus": [], "processes": []}


def test_sniffer():
    assert not looks_like_query_xml("nvidia-smi -q -x failed: No devices were found")
    assert looks_like_query_xml("```xml\n<nvidia_smi_log>\n")
