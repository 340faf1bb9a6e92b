/** The demo's DSL order (TMF622), as `npm start` prints it and the tests submit it. */
export function demoDslOrder(externalId = 'demo-1') {
  return {
    externalId,
    productOrderItem: [
      {
        id: '1',
        action: 'add',
        productOffering: { id: 'dsl-broadband' },
        product: {
          productCharacteristic: [
            { name: 'bandwidth', value: '100' },
            { name: 'serviceAddress', value: '1 Main Street, Springfield' },
          ],
        },
      },
    ],
  };
}
