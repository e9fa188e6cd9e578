"""The tabular adapter passes dbsj's plug-in conformance suite on its shipped sample folder."""

from pathlib import Path

from dbsj.testing.conformance import PluginConformance

SAMPLE = Path(__file__).resolve().parents[1] / "examples" / "health-dept"


class TestTabularConformance(PluginConformance):
    plugin_name = "tabular"
    options = {"folder": str(SAMPLE)}
