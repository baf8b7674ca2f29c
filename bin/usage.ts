/** The `vigil` command's help text. */
export const USAGE = `vigil — open alarm monitoring

  vigil demo                          central (embedded PostgreSQL + broker) and a simulated gateway
  vigil central                       run the alarm receiving centre
  vigil cluster [--workers 2] [--dir DIR]   the central as a cluster on this machine: 3 RabbitMQ
                                      nodes, PostgreSQL primary + synchronous standby, N workers
  vigil central add-site ID --name NAME [--address A] [--kind residential|business] [--category DP2]
  vigil central add-gateway SITE_ID GATEWAY_ID     issue a gateway's MQTT secret (printed once)
  vigil central add-dc09-account ACCOUNT --site SITE [--prefix 0] [--gateway GW] [--supervision 90]
                                      SIA DC-09 account; AES key from VIGIL_DC09_KEY (--key-format hex|ascii)
  vigil central simulate --site SITE.json --events EVENTS.jsonl   replay a scenario; actions as JSON lines
  vigil central add-operator USERNAME --name NAME [--role operator|supervisor|customer|installer]
                                      [--site SITE (customers)] [--installer ID (installers)]
                                      password read from VIGIL_OPERATOR_PASSWORD
  vigil central add-installer COMPANY --name NAME [--email E] [--phone P]   an installer company
  vigil gateway --config FILE [--data DIR]         run a gateway
  vigil gateway hash-code             hash VIGIL_CODE for a user's codeHash / duressCodeHash
  vigil panel status | arm [--mode away|home|night] [--force] | disarm   [--area N] [--url URL]
  vigil installer walk-test start|stop | commissioning | remove-device ID | camera-check ID
  vigil installer pair [--seconds 120] [--allow 0x00158d0001a2b3c4,…]   open Zigbee joining
  vigil installer add-device ID --name N --type T --zone Z [--area A] [--bus B] [--zone-kind K]
                                      [--supervision SECONDS] [--address ADDR]
      panel and installer commands read the code from VIGIL_CODE (kept out of the process list)
  vigil sim devices [--url URL]       list a running gateway's simulated devices
  vigil sim trigger DEVICE [--kind alarm|restore|tamper|battery-low|…] [--url URL]

Environment: VIGIL_DATA_DIR, DATABASE_URL, VIGIL_HTTP_HOST, VIGIL_HTTP_PORT, VIGIL_MQTT_HOST,
VIGIL_MQTT_PORT, VIGIL_GATEWAY_HTTP_PORT, VIGIL_LOG_LEVEL (see README).`;
