// Shared by every tcpreuse editor file: the build (copy-assets.js) puts this script at the top of each
// .html, so each node set works on its own (a user may disable any of them) and the code lives once.
(function () {
  if (window.tcpreuseEditor) return;
  window.tcpreuseEditor = {
    /**
     * Tabs for a long dialog, as the core mqtt-broker node groups its options: `tabs` is a list of
     * [content div id, label]; the divs are the children of `<listId>-content`.
     */
    tabs: function (listId, tabs) {
      var t = RED.tabs.create({
        id: listId,
        onchange: function (tab) {
          $('#' + listId + '-content').children().hide();
          $('#' + tab.id).show();
        },
      });
      tabs.forEach(function (x) { t.addTab({ id: x[0], label: x[1] }); });
    },

    /**
     * A flow saved before an option existed lacks that property. Node-RED's import leaves it
     * undefined, so its field would open blank and the node would be invalid; give it the editor's
     * default instead (the runtime already treats a missing value as the default), so old flows keep
     * working after an upgrade. Runs on the raw node (not the editor's proxy) so it also holds on
     * locked flows.
     */
    keepDefaults: function (type) {
      RED.events.on('nodes:add', function (node) {
        if (node.type !== type) return;
        var raw = node.__node__ || node;
        var defaults = raw._def.defaults;
        for (var key in defaults) {
          if (raw[key] === undefined && defaults[key].value !== undefined) {
            raw[key] = JSON.parse(JSON.stringify(defaults[key].value));
            if (raw._config) raw._config[key] = JSON.stringify(raw[key]);
          }
        }
      });
    },
  };
})();
