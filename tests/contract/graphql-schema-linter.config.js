// graphql-schema-linter config for schema/schema.graphql, run by .ci/contract.sh (which
// points --config-directory here). Any reported problem fails the check.
//
// `rules` is the list of rules to run: every built-in rule of graphql-schema-linter 3.0.1
// (the pinned version; see lib/rules/ in the package) except the ordering rules below.
module.exports = {
  rules: [
    'arguments-have-descriptions',
    'defined-types-are-used',
    'deprecations-have-a-reason',
    'descriptions-are-capitalized',
    'enum-values-all-caps',
    'enum-values-have-descriptions',
    'fields-are-camel-cased',
    'fields-have-descriptions',
    'input-object-values-are-camel-cased',
    'input-object-values-have-descriptions',
    'relay-connection-arguments-spec',
    'relay-connection-types-spec',
    'relay-page-info-spec',
    'types-are-capitalized',
    'types-have-descriptions',

    // Off: the ordering rules. The SDL is printed by async-graphql in the order the code
    // declares fields, values and arguments (id first, then the fields in reading order,
    // enum values in their lifecycle order such as NEW, CONTACTED, ... WON, LOST), which is
    // also the order partners read in the docs and the order responses answer in. Sorting
    // alphabetically would make the schema harder to read and says nothing about its
    // correctness. The 3.0.1 ordering rules are:
    //   'enum-values-sorted-alphabetically',
    //   'input-object-fields-sorted-alphabetically',
    //   'interface-fields-sorted-alphabetically',
    //   'type-fields-sorted-alphabetically',
    // (3.0.1 has no `arguments-sorted-alphabetically`; if a later version adds it, or any
    // other *-sorted-* rule, it stays off by not being listed here.)
  ],
};
