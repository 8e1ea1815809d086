// One KafkaJS consumer-group member in its own process (test/kafka/groups-kafkajs.test.ts), so
// the test can make it leave (SIGTERM: consumer.disconnect sends LeaveGroup) or die (SIGKILL).
// argv: <host:kafkaPort> <groupId> <topic>. Prints one JSON line per event on stdout:
//   {"event":"joined","memberId":..,"assignment":{topic:[partitions]}}  after every rebalance
//   {"event":"message","partition":p,"offset":"o"}                     per record consumed
//   {"event":"left"}                                                    after a clean leave
import kafkajs from 'kafkajs';

const { Kafka, logLevel } = kafkajs;
const [broker, groupId, topic] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const kafka = new Kafka({ clientId: `member-${process.pid}`, brokers: [broker], logLevel: logLevel.NOTHING, retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 } });
// Short timeouts so a killed member is noticed within seconds; maxWaitTimeInMs keeps the
// heartbeat (sent between fetches) well inside the session timeout.
const consumer = kafka.consumer({ groupId, sessionTimeout: 3000, rebalanceTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 200 });
consumer.on(consumer.events.GROUP_JOIN, (e) => out({ event: 'joined', memberId: e.payload.memberId, assignment: e.payload.memberAssignment }));
consumer.on(consumer.events.CRASH, (e) => out({ event: 'crash', error: String(e.payload.error) }));

let leaving = false;
process.on('SIGTERM', () => {
  if (leaving) return;
  leaving = true;
  consumer
    .disconnect()
    .then(() => out({ event: 'left' }))
    .finally(() => process.exit(0));
});
// Never outlive a test that forgot it.
setTimeout(() => process.exit(3), 120_000).unref();

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({ autoCommitInterval: 200, eachMessage: async ({ partition, message }) => out({ event: 'message', partition, offset: message.offset }) });
