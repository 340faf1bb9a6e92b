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
        itemPrice: [
          {
            name: 'DSL 100 monthly fee',
            priceType: 'recurring',
            recurringChargePeriod: 'month',
            price: { taxIncludedAmount: { unit: 'EUR', value: 39.9 } },
            priceAlteration: [
              { name: 'Welcome discount 20%', priceType: 'recurring', price: { percentage: 20 } },
            ],
          },
          {
            name: 'Installation',
            priceType: 'oneTime',
            price: { taxIncludedAmount: { unit: 'EUR', value: 49 } },
            priceAlteration: [
              {
                name: 'Online order',
                priceType: 'oneTime',
                price: { taxIncludedAmount: { unit: 'EUR', value: -10 } },
              },
            ],
          },
        ],
      },
    ],
  };
}

/** A TV bundle order (the demo's other offering): a package, and who installs it (`technician` or `self`). */
export function demoTvOrder(installation: 'technician' | 'self' = 'self') {
  return {
    productOrderItem: [
      {
        id: 'tv',
        action: 'add',
        productOffering: { id: 'tv-bundle' },
        product: {
          productCharacteristic: [
            { name: 'package', value: 'sports' },
            { name: 'installation', value: installation },
          ],
        },
      },
    ],
  };
}

/**
 * A voice line that keeps the customer's number (the demo's third offering): ported in from its donor
 * operator, then provisioned on the legacy platform. A number ending in 99 is one the donor does not
 * hold, and its port is rejected.
 */
export function demoVoiceOrder(phoneNumber = '+441632960001', externalId?: string) {
  return {
    ...(externalId ? { externalId } : {}),
    productOrderItem: [
      {
        id: 'voice',
        action: 'add',
        productOffering: { id: 'voice-line' },
        product: {
          productCharacteristic: [
            { name: 'phoneNumber', value: phoneNumber },
            { name: 'donorOperator', value: 'Acme Telecom' },
          ],
        },
      },
    ],
  };
}

/** The static IP add-on (assigned by provisioning, which takes only mutual TLS): an IPv4 or IPv6 address. */
export function demoStaticIpOrder(ipVersion: 'v4' | 'v6' = 'v4', externalId = 'demo-static-ip') {
  return {
    externalId,
    productOrderItem: [
      {
        id: 'ip',
        action: 'add',
        productOffering: { id: 'static-ip' },
        product: { productCharacteristic: [{ name: 'ipVersion', value: ipVersion }] },
      },
    ],
  };
}
