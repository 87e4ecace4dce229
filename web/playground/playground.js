/* Starts GraphiQL (vendored, production builds: see vendor/VERSIONS.md) against this
 * server's /graphql. No inline script: the page runs under script-src 'self'. */
(function () {
  'use strict';
  var KEY_PLACEHOLDER = '<your API key>';
  var DEFAULT_HEADERS = '{"Authorization": "Bearer ' + KEY_PLACEHOLDER + '"}';
  var DEFAULT_QUERY = [
    '{',
    '  leads(first: 10, filter: { status: WON }) {',
    '    edges { node { id name assignedTo { id name role } calls { nodes { id scheduledAt status closer { id name } } } payments { nodes { id amount currency status product { id name } } } } }',
    '    pageInfo { hasNextPage endCursor }',
    '  }',
    '}',
    '',
  ].join('\n');

  var root = document.getElementById('graphiql');
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    root.textContent = 'The playground could not load its scripts.';
    return;
  }

  var wsProtocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  var serverFetcher = GraphiQL.createFetcher({
    url: location.origin + '/graphql',
    subscriptionUrl: wsProtocol + '//' + location.host + '/graphql/ws',
  });

  function authorization(headers) {
    if (!headers) return null;
    for (var name in headers) {
      if (Object.prototype.hasOwnProperty.call(headers, name) && name.toLowerCase() === 'authorization') {
        return String(headers[name]);
      }
    }
    return null;
  }

  // Until the placeholder is replaced, answer locally instead of sending a key the server
  // would refuse; the schema loads once a key is in (toolbar: "Re-fetch GraphQL schema").
  function fetcher(params, options) {
    var auth = authorization(options && options.headers);
    if (auth !== null && auth.indexOf(KEY_PLACEHOLDER) !== -1) {
      return Promise.resolve({
        errors: [{
          message: 'Put your API key in the Headers pane: {"Authorization": "Bearer aura_pk_live_…"} '
            + '(`aura demo` prints a demo key). Then run the query, or re-fetch the schema for autocompletion.',
          extensions: { code: 'UNAUTHORIZED' },
        }],
      });
    }
    return serverFetcher(params, options);
  }

  // GraphiQL's editors are CodeMirror 5 instances whose input textareas carry no label, and
  // the query editor scrolls sideways on long lines: name the inputs and wrap the lines.
  var EDITOR_NAMES = [
    ['.graphiql-query-editor', 'Query editor'],
    ['.graphiql-editor-tool .graphiql-editor:nth-child(1)', 'Variables editor'],
    ['.graphiql-editor-tool .graphiql-editor:nth-child(2)', 'Headers editor'],
    ['.result-window', 'Response'],
  ];

  function polishEditors() {
    EDITOR_NAMES.forEach(function (entry) {
      var container = root.querySelector(entry[0]);
      if (!container) return;
      var area = container.querySelector('.CodeMirror textarea');
      if (area && area.getAttribute('aria-label') !== entry[1]) area.setAttribute('aria-label', entry[1]);
      var cm = container.querySelector('.CodeMirror');
      if (cm && cm.CodeMirror && !cm.CodeMirror.getOption('lineWrapping')) cm.CodeMirror.setOption('lineWrapping', true);
    });
  }

  new MutationObserver(polishEditors).observe(root, { childList: true, subtree: true });

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, {
    fetcher: fetcher,
    defaultQuery: DEFAULT_QUERY,
    defaultHeaders: DEFAULT_HEADERS,
    defaultEditorToolsVisibility: 'headers',
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: false,
  }));
})();
