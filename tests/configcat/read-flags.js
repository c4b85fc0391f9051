// Reads Studio's ConfigCat flags the way Studio does (packages/common/
// configcat.ts): a client for the proxy key `configcat-proxy/frontend-v2`
// with the proxy URL as base URL, then every value for a signed-in user.
// Prints them as one JSON object. Usage: node read-flags.js <proxy URL>
const configcat = require('configcat-node');

async function main(proxyUrl) {
  const client = configcat.getClient('configcat-proxy/frontend-v2', configcat.PollingMode.AutoPoll, {
    baseUrl: proxyUrl,
    pollIntervalSeconds: 7 * 60,
    logger: configcat.createConsoleLogger(configcat.LogLevel.Warn),
  });
  try {
    await client.waitForReady();
    const user = new configcat.User('someone@example.com', undefined, undefined, { is_staff: 'false' });
    const values = await client.getAllValuesAsync(user);
    console.log(JSON.stringify(Object.fromEntries(values.map((v) => [v.settingKey, v.settingValue]))));
  } finally {
    client.dispose();
  }
}

main(process.argv[2]).catch((error) => {
  console.error(error);
  process.exit(1);
});
