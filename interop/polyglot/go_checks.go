// Polyglot interop checks for Go amqp091-go.
//
// Usage: go-checks URL [CHECK ...]   (POLY_RUN names the run)
// Prints one JSON line per check: what the client observed.
package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

const replyTo = "amq.rabbitmq.reply-to"

var (
	brokerURL string
	run       = envOr("POLY_RUN", "local")
)

type obs = map[string]interface{}

func envOr(k, d string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return d
}

func name(suffix string) string { return "poly-" + run + "-go-" + suffix }

func connect(cfg amqp.Config) *amqp.Connection {
	c, err := amqp.DialConfig(brokerURL, cfg)
	must(err)
	return c
}

func dial() *amqp.Connection { return connect(amqp.Config{}) }

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func emit(check string, o obs) {
	o["check"] = check
	b, err := json.Marshal(o)
	must(err)
	fmt.Println(string(b))
}

func amqpError(err error) obs {
	var e *amqp.Error
	if errors.As(err, &e) {
		return obs{"code": e.Code, "text": e.Reason}
	}
	return obs{"error": fmt.Sprintf("%T", err)}
}

func waitFor(d time.Duration, done func() bool) {
	deadline := time.Now().Add(d)
	for !done() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func publish(ch *amqp.Channel, x, key string, mandatory bool, m amqp.Publishing) {
	must(ch.Publish(x, key, mandatory, false, m))
}

func text(s string) amqp.Publishing { return amqp.Publishing{Body: []byte(s)} }

func drainGet(ch *amqp.Channel, q string) []string {
	out := []string{}
	for i := 0; i < 20; i++ {
		d, ok, err := ch.Get(q, true)
		must(err)
		if !ok {
			break
		}
		out = append(out, string(d.Body))
	}
	return out
}

func declareOk(q amqp.Queue) obs {
	return obs{"queue": q.Name, "messages": q.Messages, "consumers": q.Consumers}
}

func checkConnect() {
	c := connect(amqp.Config{Heartbeat: 7 * time.Second})
	caps, _ := c.Properties["capabilities"].(amqp.Table)
	out := obs{}
	for _, k := range []string{"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
		"connection.blocked", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"} {
		out[k] = caps[k]
	}
	o := obs{"heartbeat": c.Config.Heartbeat.Seconds(), "channel_max": c.Config.ChannelMax, "frame_max": c.Config.FrameSize,
		"capabilities": out}
	c.Close()
	u, _ := url.Parse(brokerURL)
	u.User = url.UserPassword(u.User.Username(), "wrong-password")
	if bad, err := amqp.Dial(u.String()); err != nil {
		o["bad_password"] = amqpError(err)
	} else {
		bad.Close()
		o["bad_password"] = "opened"
	}
	emit("connect", o)
}

func checkConnectAmqplain() {
	u, _ := url.Parse(brokerURL)
	pass, _ := u.User.Password()
	c := connect(amqp.Config{SASL: []amqp.Authentication{&amqp.AMQPlainAuth{Username: u.User.Username(), Password: pass}}})
	ch, err := c.Channel()
	must(err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(err)
	c.Close()
	emit("connect_amqplain", obs{"opened": true, "server_named": strings.HasPrefix(q.Name, "amq.gen-")})
}

func checkHello() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	q, err := ch.QueueDeclare(name("hello"), false, false, false, false, nil)
	must(err)
	publish(ch, "", q.Name, false, text("Hello World!"))
	msgs, err := ch.Consume(q.Name, "", true, false, false, false, nil)
	must(err)
	got := []obs{}
	select {
	case d := <-msgs:
		got = append(got, obs{"body": string(d.Body), "routing_key": d.RoutingKey, "exchange": d.Exchange, "redelivered": d.Redelivered})
	case <-time.After(5 * time.Second):
	}
	_, err = ch.QueueDelete(q.Name, false, false, false)
	must(err)
	emit("hello", obs{"got": got})
}

func checkWorkQueues() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	q, err := ch.QueueDeclare(name("tasks"), true, false, false, false, nil)
	must(err)
	for i := 0; i < 4; i++ {
		publish(ch, "", q.Name, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(fmt.Sprintf("task %d", i))})
	}
	must(ch.Qos(1, 0, false))
	msgs, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	must(err)
	seen := []obs{}
	for len(seen) < 5 {
		select {
		case d := <-msgs:
			seen = append(seen, obs{"body": string(d.Body), "redelivered": d.Redelivered, "delivery_mode": d.DeliveryMode})
			if len(seen) == 1 {
				must(d.Nack(false, true))
			} else {
				must(d.Ack(false))
			}
		case <-time.After(5 * time.Second):
			emit("work_queues", obs{"seen": seen, "timeout": true})
			return
		}
	}
	p, err := ch.QueueDeclarePassive(q.Name, true, false, false, false, nil)
	must(err)
	_, err = ch.QueueDelete(q.Name, false, false, false)
	must(err)
	emit("work_queues", obs{"seen": seen, "left": p.Messages})
}

func checkFanout() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	x := name("logs")
	must(ch.ExchangeDeclare(x, "fanout", false, false, false, false, nil))
	got := [][]string{}
	named := true
	qs := []string{}
	for i := 0; i < 2; i++ {
		q, err := ch.QueueDeclare("", false, false, true, false, nil)
		must(err)
		must(ch.QueueBind(q.Name, "", x, false, nil))
		qs = append(qs, q.Name)
		named = named && strings.HasPrefix(q.Name, "amq.gen-")
	}
	publish(ch, x, "ignored", false, text("log line"))
	for _, q := range qs {
		got = append(got, drainGet(ch, q))
	}
	must(ch.ExchangeDelete(x, false, false))
	emit("fanout", obs{"got": got, "server_named": named})
}

func routed(ch *amqp.Channel, x string, bindings map[string][]string, keys []string) obs {
	labels := []string{}
	for l := range bindings {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	queues := map[string]string{}
	for _, l := range labels {
		q, err := ch.QueueDeclare("", false, false, true, false, nil)
		must(err)
		for _, p := range bindings[l] {
			must(ch.QueueBind(q.Name, p, x, false, nil))
		}
		queues[l] = q.Name
	}
	for _, k := range keys {
		publish(ch, x, k, false, text(k))
	}
	out := obs{}
	for _, l := range labels {
		out[l] = drainGet(ch, queues[l])
	}
	return out
}

func checkDirect() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	x := name("direct")
	must(ch.ExchangeDeclare(x, "direct", false, false, false, false, nil))
	got := routed(ch, x, map[string][]string{"errors": {"error"}, "all": {"info", "warning", "error"}}, []string{"info", "warning", "error", "debug"})
	must(ch.ExchangeDelete(x, false, false))
	emit("direct", obs{"got": got})
}

func checkTopic() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	x := name("topic")
	must(ch.ExchangeDeclare(x, "topic", false, false, false, false, nil))
	got := routed(ch, x, map[string][]string{"q1": {"*.orange.*"}, "q2": {"*.*.rabbit", "lazy.#"}, "hash": {"#"}},
		[]string{"quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "lazy.brown.fox", "lazy.pink.rabbit",
			"quick.brown.fox", "orange", "quick.orange.male.rabbit", "lazy.orange.male.rabbit", "lazy", ""})
	must(ch.ExchangeDelete(x, false, false))
	emit("topic", obs{"got": got})
}

func rpc(declareFirst bool) obs {
	c := dial()
	defer c.Close()
	server, _ := c.Channel()
	client, _ := c.Channel()
	rqName := name("rpc")
	if declareFirst {
		rqName = name("rpc-declared")
	}
	rq, err := server.QueueDeclare(rqName, false, false, true, false, nil)
	must(err)
	reqs, err := server.Consume(rq.Name, "", false, false, false, false, nil)
	must(err)
	go func() {
		for d := range reqs {
			n, _ := strconv.Atoi(string(d.Body))
			_ = server.Publish("", d.ReplyTo, false, false, amqp.Publishing{CorrelationId: d.CorrelationId, Body: []byte(strconv.Itoa(n * n))})
			_ = d.Ack(false)
		}
	}()
	o := obs{}
	if declareFirst {
		if q, err := client.QueueDeclarePassive(replyTo, false, true, true, false, nil); err != nil {
			o["passive_declare"] = amqpError(err)
			client, _ = c.Channel()
		} else {
			o["passive_declare"] = declareOk(q)
		}
		if q, err := client.QueueDeclare(replyTo, false, true, true, false, nil); err != nil {
			o["declare_before_consuming"] = amqpError(err)
			client, _ = c.Channel()
		} else {
			o["declare_before_consuming"] = declareOk(q)
		}
	}
	replies, err := client.Consume(replyTo, "", true, false, false, false, nil)
	must(err)
	open := true
	if declareFirst {
		if q, err := client.QueueDeclare(replyTo, false, true, true, false, nil); err != nil {
			o["declare_while_consuming"] = amqpError(err)
			open = false
		} else {
			o["declare_while_consuming"] = declareOk(q)
		}
	}
	got := []obs{}
	if open {
		for i, n := range []int{3, 7} {
			publish(client, "", rq.Name, false, amqp.Publishing{ReplyTo: replyTo, CorrelationId: fmt.Sprintf("c%d", i), Body: []byte(strconv.Itoa(n))})
		}
	wait:
		for len(got) < 2 {
			select {
			case d, ok := <-replies:
				if !ok {
					break wait
				}
				prefix := d.RoutingKey
				if len(prefix) > len(replyTo) {
					prefix = prefix[:len(replyTo)]
				}
				got = append(got, obs{"body": string(d.Body), "correlation_id": d.CorrelationId, "routing_key_prefix": prefix})
			case <-time.After(5 * time.Second):
				break wait
			}
		}
	}
	o["replies"] = got
	return o
}

func checkConfirms() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	must(ch.Confirm(false))
	confirms := ch.NotifyPublish(make(chan amqp.Confirmation, 10))
	returns := ch.NotifyReturn(make(chan amqp.Return, 10))
	q, err := ch.QueueDeclare(name("confirms"), false, false, false, false, nil)
	must(err)
	for i := 0; i < 3; i++ {
		publish(ch, "", q.Name, false, amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte("c")})
	}
	publish(ch, "", name("no-such-queue"), true, text("x"))
	acks := []obs{}
collect:
	for len(acks) < 4 {
		select {
		case cf := <-confirms:
			acks = append(acks, obs{"tag": cf.DeliveryTag, "ack": cf.Ack})
		case <-time.After(5 * time.Second):
			break collect
		}
	}
	ret := []obs{}
	select {
	case r := <-returns:
		ret = append(ret, obs{"code": r.ReplyCode, "text": r.ReplyText})
	case <-time.After(5 * time.Second):
	}
	p, err := ch.QueueDeclarePassive(q.Name, false, false, false, false, nil)
	must(err)
	o := obs{"confirms": acks, "returned": ret, "depth": p.Messages}
	if err := ch.ExchangeDeclarePassive(name("no-such-exchange"), "direct", false, false, false, false, nil); err != nil {
		o["missing_exchange"] = amqpError(err)
	} else {
		o["missing_exchange"] = "ok"
	}
	ch2, _ := c.Channel()
	_, err = ch2.QueueDelete(q.Name, false, false, false)
	must(err)
	emit("confirms", o)
}

func describe(v interface{}) interface{} {
	switch t := v.(type) {
	case amqp.Table:
		out := obs{}
		for k, x := range t {
			out[k] = describe(x)
		}
		return []interface{}{"Table", out}
	case []interface{}:
		out := []interface{}{}
		for _, x := range t {
			out = append(out, describe(x))
		}
		return []interface{}{"[]interface{}", out}
	case []byte:
		return []interface{}{"[]byte", hex.EncodeToString(t)}
	case time.Time:
		return []interface{}{"time.Time", t.UTC().Format(time.RFC3339)}
	case amqp.Decimal:
		return []interface{}{"Decimal", []interface{}{t.Scale, t.Value}}
	}
	return []interface{}{fmt.Sprintf("%T", v), v}
}

func checkHeaders() {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	q, err := ch.QueueDeclare(name("headers"), false, false, true, false, nil)
	must(err)
	h := amqp.Table{
		"str": "text é", "true": true, "false": false, "byte": byte(200), "int8": int8(-3), "int16": int16(-300),
		"int32": int32(-70000), "int": 7, "int64": int64(1) << 40, "float32": float32(2.5), "float64": 1.5,
		"decimal": amqp.Decimal{Scale: 2, Value: 314}, "time": time.Unix(1700000000, 0), "bytes": []byte{0, 1, 0xff},
		"table": amqp.Table{"inner": int32(1), "s": "x"}, "array": []interface{}{int32(1), "two", true, nil},
		"void": nil,
	}
	publish(ch, "", q.Name, false, amqp.Publishing{Headers: h, ContentType: "application/json", ContentEncoding: "utf-8",
		DeliveryMode: 2, Priority: 3, CorrelationId: "corr", ReplyTo: "rq", Expiration: "60000", MessageId: "mid",
		Timestamp: time.Unix(1700000000, 0), Type: "kind", UserId: "guest", AppId: "poly", Body: []byte("{}")})
	d, ok, err := ch.Get(q.Name, true)
	must(err)
	if !ok {
		emit("headers", obs{"got": nil})
		return
	}
	hdrs := obs{}
	for k, v := range d.Headers {
		hdrs[k] = describe(v)
	}
	emit("headers", obs{"headers": hdrs, "body": string(d.Body), "properties": obs{
		"content_type": d.ContentType, "content_encoding": d.ContentEncoding, "delivery_mode": d.DeliveryMode,
		"priority": d.Priority, "correlation_id": d.CorrelationId, "reply_to": d.ReplyTo, "expiration": d.Expiration,
		"message_id": d.MessageId, "timestamp": d.Timestamp.Unix(), "type": d.Type, "user_id": d.UserId, "app_id": d.AppId}})
}

func redeclare(queue string, args amqp.Table) obs {
	c := dial()
	defer c.Close()
	ch, _ := c.Channel()
	q, err := ch.QueueDeclare("poly-"+run+"-"+queue, true, false, false, false, args)
	if err != nil {
		return amqpError(err)
	}
	return obs{"ok": declareOk(q)}
}

func checkRedeclareArgs() {
	// Declared by the pika program with 32-bit ints; Go's int and int64 go out as 64-bit (l).
	emit("redeclare_args", redeclare("redeclare-args", amqp.Table{"x-max-length": int64(10), "x-message-ttl": 60000, "x-dead-letter-exchange": ""}))
}

func checkRedeclareClassic() {
	emit("redeclare_classic", obs{
		"with_type":    redeclare("redeclare-classic", amqp.Table{"x-dead-letter-exchange": "", "x-queue-type": "classic"}),
		"without_type": redeclare("redeclare-classic-rev", amqp.Table{"x-dead-letter-exchange": ""}),
	})
}

func checkBlocked() {
	c := dial()
	defer c.Close()
	blocks := c.NotifyBlocked(make(chan amqp.Blocking, 4))
	ch, _ := c.Channel()
	q, err := ch.QueueDeclare(name("blocked"), false, false, true, false, nil)
	must(err)
	publish(ch, "", q.Name, false, text("held while blocked"))
	events := [][]string{}
	next := func(wait time.Duration) {
		select {
		case b := <-blocks:
			if b.Active {
				events = append(events, []string{"blocked", b.Reason})
			} else {
				events = append(events, []string{"unblocked"})
			}
		case <-time.After(wait):
		}
	}
	next(10 * time.Second)
	fmt.Println(`{"signal":"blocked"}`)
	next(45 * time.Second) // cleared once every blocked check has signalled
	emit("blocked", obs{"events": events, "got": drainGet(ch, q.Name)})
}

func main() {
	brokerURL = os.Args[1]
	checks := map[string]func(){
		"connect": checkConnect, "connect_amqplain": checkConnectAmqplain, "hello": checkHello, "work_queues": checkWorkQueues,
		"fanout": checkFanout, "direct": checkDirect, "topic": checkTopic,
		"rpc":          func() { emit("rpc", rpc(false)) },
		"rpc_declared": func() { emit("rpc_declared", rpc(true)) },
		"confirms":     checkConfirms, "headers": checkHeaders, "redeclare_args": checkRedeclareArgs,
		"redeclare_classic": checkRedeclareClassic, "blocked": checkBlocked,
	}
	names := os.Args[2:]
	if len(names) == 0 {
		names = []string{"connect", "connect_amqplain", "hello", "work_queues", "fanout", "direct", "topic", "rpc", "rpc_declared", "confirms", "headers"}
	}
	for _, n := range names {
		func() {
			defer func() {
				if r := recover(); r != nil {
					emit(n, obs{"failed": fmt.Sprint(r)})
				}
			}()
			checks[n]()
		}()
	}
}
