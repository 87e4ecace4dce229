// Spectral custom function: the target (a parameter, header or media type object) carries
// an example: its own `example`/`examples`, or an `example` on its schema (or, for a
// parameter or header serialized as `content`, on that content's media type).
// Used by the `aura-*-example` rules of ../.spectral.yaml.
'use strict';

function hasOwnExample(node) {
  return (
    node != null &&
    typeof node === 'object' &&
    (node.example !== undefined ||
      (node.examples != null && Object.keys(node.examples).length > 0) ||
      (node.schema != null && node.schema.example !== undefined))
  );
}

module.exports = function hasExample(target, _options, context) {
  if (target == null || typeof target !== 'object') return;
  if (hasOwnExample(target)) return;
  if (target.content && Object.values(target.content).some(hasOwnExample)) return;
  const last = context.path[context.path.length - 1];
  const what = target.name ? `\`${target.name}\` (in ${target.in})` : `\`${String(last)}\``;
  return [{ message: `${what} has no example.` }];
};
