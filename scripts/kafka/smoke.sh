#!/usr/bin/env bash
# Smoke test of the broker started by kafka.sh: create a 4-partition topic, produce
# 5 keyed records, consume them in a consumer group, show the group's offsets, and
# check that every record came back and the group's lag is 0. Uses the Kafka 4.x
# tool classes from the same cached classpath.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K="$HERE/kafka.sh"
B="127.0.0.1:${GLOSSA_KAFKA_PORT:-19092}"
TOPIC="glossa-smoke-$$"
GROUP="glossa-smoke-g-$$"
"$K" status >/dev/null || { echo "smoke: broker not running (run $K start)" >&2; exit 1; }

"$K" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" \
  --create --topic "$TOPIC" --partitions 4 --replication-factor 1
"$K" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" --describe --topic "$TOPIC"

printf 'k1:hello\nk2:world\nk3:hallo welt\nk4:bonjour\nk5:hola\n' |
  "$K" run org.apache.kafka.tools.ConsoleProducer --bootstrap-server "$B" --topic "$TOPIC" \
    --reader-property parse.key=true --reader-property key.separator=:

out="$("$K" run org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$B" \
  --topic "$TOPIC" --group "$GROUP" --from-beginning --max-messages 5 --timeout-ms 30000 \
  --formatter-property print.key=true --formatter-property print.partition=true)"
echo "$out"
n="$(grep -c . <<<"$out" || true)"
[[ "$n" == 5 ]] || { echo "smoke: consumed $n records, want 5" >&2; exit 1; }

groups="$("$K" run org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$B" \
  --describe --group "$GROUP")"
echo "$groups"
# Columns: GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG ...
awk -v t="$TOPIC" '$2 == t { c += $4; lag += $6 } END { exit !(c == 5 && lag == 0) }' <<<"$groups" ||
  { echo "smoke: committed offsets do not add up to 5 with lag 0" >&2; exit 1; }

"$K" run org.apache.kafka.tools.TopicCommand --bootstrap-server "$B" --delete --topic "$TOPIC"
echo "Kafka smoke test passed (topic $TOPIC, group $GROUP)"
