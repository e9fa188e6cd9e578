"""The synthetic Xinjiang plug-in passes dbsj's plug-in conformance suite."""

from dbsj.testing.conformance import PluginConformance


class TestXinjiangConformance(PluginConformance):
    plugin_name = "xinjiang"
    options = {"targets": "3000", "seed": "conformance"}
