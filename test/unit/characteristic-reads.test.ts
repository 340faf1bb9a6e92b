import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { characteristicReads } from '../../lib/catalog/characteristic-reads';

describe('characteristicReads: the characteristics an expression reads by name', () => {
  const cases: [string, string, string[]][] = [
    ['a path', 'characteristics.bandwidth', ['bandwidth']],
    ['inside a function call', '$number(characteristics.bandwidth)', ['bandwidth']],
    ['from the context and from the root', '$.characteristics.a & $$.characteristics.b', ['a', 'b']],
    ['a quoted name', 'characteristics.`service address`', ['service address']],
    ['in an object constructor', '{ "to": characteristics.contactEmail }', ['contactEmail']],
    [
      'both branches of a condition',
      'characteristics.x ? characteristics.y : characteristics.z',
      ['x', 'y', 'z'],
    ],
    ['by $lookup with a literal name', '$lookup(characteristics, "speed")', ['speed']],
    ['by $lookup applied with ~>', 'characteristics ~> $lookup("speed")', ['speed']],
    ['through a variable bound to them', '($c := characteristics; $c.package)', ['package']],
    [
      'in a block stepped into from them',
      'characteristics.(installation & package)',
      ['installation', 'package'],
    ],
    ['in a filter on them', 'characteristics[bandwidth > 10].bandwidth', ['bandwidth']],
    [
      'in a function defined at the top',
      '($f := function() { characteristics.speed }; lines.$f())',
      ['speed'],
    ],
    ['from the root inside a step', 'lines.($$.characteristics.speed)', ['speed']],
    [
      'in TMF form on the line',
      'line.product.productCharacteristic[name = "bandwidth"].value',
      ['bandwidth'],
    ],
    ['in TMF form, reversed', 'line.product.productCharacteristic["bandwidth" = name].value', ['bandwidth']],
    [
      'in TMF form on every line, by a list',
      'lines.product.productCharacteristic[name in ["a", "b"] or name = "c"].value',
      ['a', 'b', 'c'],
    ],
    ['nothing when the whole object is passed on', '{ "characteristics": characteristics }', []],
    ['nothing for a computed name', '$lookup(characteristics, $name) & characteristics.*', []],
    ['nothing for a field of each line', 'lines.(characteristics.speed)', []],
    ['nothing in a filter on something else', 'order.productOrderItem[characteristics.speed = 1]', []],
    [
      'nothing for a parameter of the same name',
      '$map(lines, function($l) { $l.characteristics.speed })',
      [],
    ],
    [
      'nothing for a line of any offering',
      'order.productOrderItem.product.productCharacteristic[name = "x"]',
      [],
    ],
    ['nothing in a string or a comment', '/* characteristics.a */ "characteristics.b"', []],
    ['nothing in a transform over something else', '$ ~> |line|{ "a": characteristics.t }|', []],
  ];
  for (const [what, expression, reads] of cases) {
    it(`finds ${what}: ${expression}`, () => {
      assert.deepEqual(characteristicReads(expression), reads);
    });
  }

  it('reads each name once, sorted', () => {
    assert.deepEqual(characteristicReads('characteristics.b & characteristics.a & characteristics.b'), [
      'a',
      'b',
    ]);
  });

  it('throws for an expression that is not JSONata, as the loader reports it where it is', () => {
    assert.throws(() => characteristicReads('characteristics.('));
  });

  it('finds every read of the demo mappings', () => {
    const reads = characteristicReads(
      '{ "orderId": order.id, "bandwidthMbps": $number(characteristics.bandwidth), "serviceAddress": characteristics.serviceAddress }',
    );
    assert.deepEqual(reads, ['bandwidth', 'serviceAddress']);
  });
});
