// Polyglot interop checks for the RabbitMQ Java client (com.rabbitmq:amqp-client).
//
// Usage: java -cp amqp-client.jar:slf4j-api.jar:slf4j-nop.jar:. JavaChecks URL [CHECK ...]
// (POLY_RUN names the run.) Prints one JSON line per check: what the client observed.
import com.rabbitmq.client.*;

import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.*;
import java.util.function.BooleanSupplier;

public class JavaChecks {
    static String url;
    static final String RUN = System.getenv().getOrDefault("POLY_RUN", "local");
    static final String REPLY_TO = "amq.rabbitmq.reply-to";

    static String name(String suffix) {
        return "poly-" + RUN + "-java-" + suffix;
    }

    static Connection connect(Integer heartbeat, String password) throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setUri(url);
        f.setAutomaticRecoveryEnabled(false);
        if (heartbeat != null) f.setRequestedHeartbeat(heartbeat);
        if (password != null) f.setPassword(password);
        return f.newConnection();
    }

    static Connection connect() throws Exception {
        return connect(null, null);
    }

    // ---------------------------------------------------------------- JSON out
    static String json(Object v) {
        if (v == null) return "null";
        if (v instanceof String) {
            StringBuilder b = new StringBuilder("\"");
            for (char ch : ((String) v).toCharArray()) {
                if (ch == '"' || ch == '\\') b.append('\\').append(ch);
                else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
                else b.append(ch);
            }
            return b.append('"').toString();
        }
        if (v instanceof Number || v instanceof Boolean) return v.toString();
        if (v instanceof Map) {
            StringJoiner j = new StringJoiner(",", "{", "}");
            for (Map.Entry<?, ?> e : new TreeMap<>((Map<?, ?>) v).entrySet()) j.add(json(String.valueOf(e.getKey())) + ":" + json(e.getValue()));
            return j.toString();
        }
        if (v instanceof List) {
            StringJoiner j = new StringJoiner(",", "[", "]");
            for (Object x : (List<?>) v) j.add(json(x));
            return j.toString();
        }
        return json(v.toString());
    }

    static void emit(String check, Map<String, Object> obs) {
        obs.put("check", check);
        System.out.println(json(obs));
        System.out.flush();
    }

    static Map<String, Object> map(Object... kv) {
        Map<String, Object> m = new TreeMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put((String) kv[i], kv[i + 1]);
        return m;
    }

    static Map<String, Object> amqpError(Exception e) {
        Throwable t = e;
        while (t != null && !(t instanceof ShutdownSignalException)) t = t.getCause();
        if (t != null) {
            Method reason = ((ShutdownSignalException) t).getReason();
            if (reason instanceof AMQP.Channel.Close) {
                AMQP.Channel.Close c = (AMQP.Channel.Close) reason;
                return map("code", c.getReplyCode(), "text", c.getReplyText());
            }
            if (reason instanceof AMQP.Connection.Close) {
                AMQP.Connection.Close c = (AMQP.Connection.Close) reason;
                return map("connection_code", c.getReplyCode(), "text", c.getReplyText());
            }
        }
        return map("error", e.getClass().getSimpleName());
    }

    static void waitUntil(long ms, BooleanSupplier cond) throws InterruptedException {
        long deadline = System.currentTimeMillis() + ms;
        while (!cond.getAsBoolean() && System.currentTimeMillis() < deadline) Thread.sleep(20);
    }

    static String str(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }

    static List<Object> drainGet(Channel ch, String q) throws IOException {
        List<Object> out = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            GetResponse r = ch.basicGet(q, true);
            if (r == null) break;
            out.add(str(r.getBody()));
        }
        return out;
    }

    static Map<String, Object> declareOk(AMQP.Queue.DeclareOk ok) {
        return map("queue", ok.getQueue(), "messages", ok.getMessageCount(), "consumers", ok.getConsumerCount());
    }

    // ---------------------------------------------------------------- checks
    static void connectCheck() throws Exception {
        Connection c = connect(7, null);
        @SuppressWarnings("unchecked")
        Map<String, Object> caps = (Map<String, Object>) c.getServerProperties().get("capabilities");
        Map<String, Object> capsOut = new TreeMap<>();
        for (String k : new String[] {"publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
                "connection.blocked", "authentication_failure_close", "per_consumer_qos", "direct_reply_to"}) capsOut.put(k, caps.get(k));
        Map<String, Object> obs = map("heartbeat", c.getHeartbeat(), "channel_max", c.getChannelMax(), "frame_max", c.getFrameMax(),
                "capabilities", capsOut);
        c.close();
        try {
            connect(null, "wrong-password").close();
            obs.put("bad_password", "opened");
        } catch (Exception e) {
            obs.put("bad_password", e.getClass().getSimpleName());
        }
        emit("connect", obs);
    }

    static void hello() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String q = name("hello");
        ch.queueDeclare(q, false, false, false, null);
        ch.basicPublish("", q, null, "Hello World!".getBytes(StandardCharsets.UTF_8));
        List<Object> got = Collections.synchronizedList(new ArrayList<>());
        ch.basicConsume(q, true, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
                got.add(map("body", str(body), "routing_key", env.getRoutingKey(), "exchange", env.getExchange(), "redelivered", env.isRedeliver()));
            }
        });
        waitUntil(5000, () -> got.size() == 1);
        ch.queueDelete(q);
        c.close();
        emit("hello", map("got", new ArrayList<>(got)));
    }

    static void workQueues() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String q = name("tasks");
        ch.queueDeclare(q, true, false, false, null);
        for (int i = 0; i < 4; i++) ch.basicPublish("", q, MessageProperties.PERSISTENT_TEXT_PLAIN, ("task " + i).getBytes(StandardCharsets.UTF_8));
        ch.basicQos(1);
        List<Object> seen = Collections.synchronizedList(new ArrayList<>());
        boolean[] nacked = {false};
        ch.basicConsume(q, false, new DefaultConsumer(ch) {
            @Override
            public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) throws IOException {
                seen.add(map("body", str(body), "redelivered", env.isRedeliver(), "delivery_mode", props.getDeliveryMode()));
                if (!nacked[0]) {
                    nacked[0] = true;
                    ch.basicNack(env.getDeliveryTag(), false, true);
                } else ch.basicAck(env.getDeliveryTag(), false);
            }
        });
        waitUntil(5000, () -> seen.size() == 5);
        int left = ch.queueDeclarePassive(q).getMessageCount();
        ch.queueDelete(q);
        c.close();
        emit("work_queues", map("seen", new ArrayList<>(seen), "left", left));
    }

    static void fanout() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String x = name("logs");
        ch.exchangeDeclare(x, BuiltinExchangeType.FANOUT);
        List<String> qs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String q = ch.queueDeclare().getQueue();
            ch.queueBind(q, x, "");
            qs.add(q);
        }
        ch.basicPublish(x, "ignored", null, "log line".getBytes(StandardCharsets.UTF_8));
        List<Object> got = new ArrayList<>();
        boolean serverNamed = true;
        for (String q : qs) {
            got.add(drainGet(ch, q));
            serverNamed &= q.startsWith("amq.gen-");
        }
        ch.exchangeDelete(x);
        c.close();
        emit("fanout", map("got", got, "server_named", serverNamed));
    }

    static Map<String, Object> routed(Channel ch, String x, Map<String, String[]> bindings, String[] keys) throws IOException {
        Map<String, String> queues = new TreeMap<>();
        for (Map.Entry<String, String[]> b : bindings.entrySet()) {
            String q = ch.queueDeclare().getQueue();
            for (String p : b.getValue()) ch.queueBind(q, x, p);
            queues.put(b.getKey(), q);
        }
        for (String k : keys) ch.basicPublish(x, k, null, k.getBytes(StandardCharsets.UTF_8));
        Map<String, Object> out = new TreeMap<>();
        for (Map.Entry<String, String> e : queues.entrySet()) out.put(e.getKey(), drainGet(ch, e.getValue()));
        return out;
    }

    static void direct() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String x = name("direct");
        ch.exchangeDeclare(x, BuiltinExchangeType.DIRECT);
        Map<String, String[]> b = new TreeMap<>();
        b.put("errors", new String[] {"error"});
        b.put("all", new String[] {"info", "warning", "error"});
        Map<String, Object> got = routed(ch, x, b, new String[] {"info", "warning", "error", "debug"});
        ch.exchangeDelete(x);
        c.close();
        emit("direct", map("got", got));
    }

    static void topic() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String x = name("topic");
        ch.exchangeDeclare(x, BuiltinExchangeType.TOPIC);
        Map<String, String[]> b = new TreeMap<>();
        b.put("q1", new String[] {"*.orange.*"});
        b.put("q2", new String[] {"*.*.rabbit", "lazy.#"});
        b.put("hash", new String[] {"#"});
        Map<String, Object> got = routed(ch, x, b, new String[] {"quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox",
                "lazy.brown.fox", "lazy.pink.rabbit", "quick.brown.fox", "orange", "quick.orange.male.rabbit",
                "lazy.orange.male.rabbit", "lazy", ""});
        ch.exchangeDelete(x);
        c.close();
        emit("topic", map("got", got));
    }

    static Map<String, Object> rpc(boolean declareFirst) throws Exception {
        Connection c = connect();
        Channel server = c.createChannel();
        Channel client = c.createChannel();
        String rq = name(declareFirst ? "rpc-declared" : "rpc");
        server.queueDeclare(rq, false, true, false, null);
        server.basicConsume(rq, false, new DefaultConsumer(server) {
            @Override
            public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) throws IOException {
                int n = Integer.parseInt(str(body));
                AMQP.BasicProperties reply = new AMQP.BasicProperties.Builder().correlationId(props.getCorrelationId()).build();
                server.basicPublish("", props.getReplyTo(), reply, String.valueOf(n * n).getBytes(StandardCharsets.UTF_8));
                server.basicAck(env.getDeliveryTag(), false);
            }
        });
        Map<String, Object> obs = new TreeMap<>();
        if (declareFirst) {
            try {
                obs.put("passive_declare", declareOk(client.queueDeclarePassive(REPLY_TO)));
            } catch (IOException e) {
                obs.put("passive_declare", amqpError(e));
                client = c.createChannel();
            }
            try {
                obs.put("declare_before_consuming", declareOk(client.queueDeclare(REPLY_TO, false, true, true, null)));
            } catch (IOException e) {
                obs.put("declare_before_consuming", amqpError(e));
                client = c.createChannel();
            }
        }
        List<Object> replies = Collections.synchronizedList(new ArrayList<>());
        client.basicConsume(REPLY_TO, true, new DefaultConsumer(client) {
            @Override
            public void handleDelivery(String tag, Envelope env, AMQP.BasicProperties props, byte[] body) {
                replies.add(map("body", str(body), "correlation_id", props.getCorrelationId(),
                        "routing_key_prefix", env.getRoutingKey().substring(0, Math.min(REPLY_TO.length(), env.getRoutingKey().length()))));
            }
        });
        if (declareFirst) {
            try {
                obs.put("declare_while_consuming", declareOk(client.queueDeclare(REPLY_TO, false, true, true, null)));
            } catch (IOException e) {
                obs.put("declare_while_consuming", amqpError(e));
            }
        }
        if (client.isOpen()) {
            int[] ns = {3, 7};
            for (int i = 0; i < ns.length; i++) {
                AMQP.BasicProperties p = new AMQP.BasicProperties.Builder().replyTo(REPLY_TO).correlationId("c" + i).build();
                client.basicPublish("", rq, p, String.valueOf(ns[i]).getBytes(StandardCharsets.UTF_8));
            }
            waitUntil(5000, () -> replies.size() == 2);
        }
        obs.put("replies", new ArrayList<>(replies));
        c.close();
        return obs;
    }

    static void confirms() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        ch.confirmSelect();
        String q = name("confirms");
        ch.queueDeclare(q, false, false, false, null);
        List<Object> returns = Collections.synchronizedList(new ArrayList<>());
        ch.addReturnListener((code, text, exchange, rk, props, body) -> returns.add(map("code", code, "text", text)));
        for (int i = 0; i < 3; i++) ch.basicPublish("", q, MessageProperties.PERSISTENT_BASIC, "c".getBytes(StandardCharsets.UTF_8));
        ch.basicPublish("", name("no-such-queue"), true, null, "x".getBytes(StandardCharsets.UTF_8));
        boolean allAcked = ch.waitForConfirms(5000);
        waitUntil(5000, () -> returns.size() == 1);
        Map<String, Object> obs = map("all_acked", allAcked, "returned", new ArrayList<>(returns), "depth", ch.queueDeclarePassive(q).getMessageCount());
        try {
            ch.exchangeDeclarePassive(name("no-such-exchange"));
            obs.put("missing_exchange", "ok");
        } catch (IOException e) {
            obs.put("missing_exchange", amqpError(e));
        }
        c.createChannel().queueDelete(q);
        c.close();
        emit("confirms", obs);
    }

    static Object describe(Object v) {
        if (v == null) return Arrays.asList("void", null);
        if (v instanceof LongString) return Arrays.asList("LongString", v.toString());
        if (v instanceof byte[]) {
            StringBuilder b = new StringBuilder();
            for (byte x : (byte[]) v) b.append(String.format("%02x", x));
            return Arrays.asList("byte[]", b.toString());
        }
        if (v instanceof Date) return Arrays.asList("Date", ((Date) v).getTime() / 1000);
        if (v instanceof BigDecimal) return Arrays.asList("BigDecimal", ((BigDecimal) v).toPlainString());
        if (v instanceof Map) {
            Map<String, Object> out = new TreeMap<>();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) out.put(String.valueOf(e.getKey()), describe(e.getValue()));
            return Arrays.asList("Map", out);
        }
        if (v instanceof List) {
            List<Object> out = new ArrayList<>();
            for (Object x : (List<?>) v) out.add(describe(x));
            return Arrays.asList("List", out);
        }
        return Arrays.asList(v.getClass().getSimpleName(), v);
    }

    static void headers() throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        String q = name("headers");
        ch.queueDeclare(q, false, true, false, null);
        Map<String, Object> h = new HashMap<>();
        h.put("str", "text é");
        h.put("int", 7);
        h.put("neg", -5);
        h.put("long", 1L << 40);
        h.put("short", (short) 12);
        h.put("byte", (byte) -3);
        h.put("float", 2.5f);
        h.put("double", 1.5d);
        h.put("decimal", new BigDecimal("3.14"));
        h.put("true", true);
        h.put("false", false);
        h.put("date", new Date(1_700_000_000_000L));
        h.put("bytes", new byte[] {0, 1, (byte) 0xff});
        h.put("table", map("inner", 1, "s", "x"));
        h.put("array", Arrays.asList(1, "two", true, null, Collections.singletonList(3)));
        h.put("void", null);
        AMQP.BasicProperties props = new AMQP.BasicProperties.Builder().contentType("application/json").contentEncoding("utf-8")
                .headers(h).deliveryMode(2).priority(3).correlationId("corr").replyTo("rq").expiration("60000").messageId("mid")
                .timestamp(new Date(1_700_000_000_000L)).type("kind").userId("guest").appId("poly").build();
        ch.basicPublish("", q, props, "{}".getBytes(StandardCharsets.UTF_8));
        GetResponse r = ch.basicGet(q, true);
        c.close();
        AMQP.BasicProperties p = r.getProps();
        Map<String, Object> hdrs = new TreeMap<>();
        if (p.getHeaders() != null) for (Map.Entry<String, Object> e : p.getHeaders().entrySet()) hdrs.put(e.getKey(), describe(e.getValue()));
        Map<String, Object> properties = map("content_type", p.getContentType(), "content_encoding", p.getContentEncoding(),
                "delivery_mode", p.getDeliveryMode(), "priority", p.getPriority(), "correlation_id", p.getCorrelationId(),
                "reply_to", p.getReplyTo(), "expiration", p.getExpiration(), "message_id", p.getMessageId(),
                "timestamp", p.getTimestamp() == null ? null : p.getTimestamp().getTime() / 1000, "type", p.getType(),
                "user_id", p.getUserId(), "app_id", p.getAppId());
        emit("headers", map("headers", hdrs, "properties", properties, "body", str(r.getBody())));
    }

    static Map<String, Object> redeclare(String queue, Map<String, Object> args) throws Exception {
        Connection c = connect();
        Channel ch = c.createChannel();
        Map<String, Object> obs;
        try {
            obs = map("ok", declareOk(ch.queueDeclare("poly-" + RUN + "-" + queue, true, false, false, args)));
        } catch (IOException e) {
            obs = amqpError(e);
        }
        if (c.isOpen()) c.close();
        return obs;
    }

    static void redeclareArgs() throws Exception {
        // Declared by the pika program with 32-bit ints; redeclared here with Long (64-bit) values.
        emit("redeclare_args", redeclare("redeclare-args", map("x-max-length", 10L, "x-message-ttl", 60000L, "x-dead-letter-exchange", "")));
    }

    static void redeclareClassic() throws Exception {
        emit("redeclare_classic", map(
                "with_type", redeclare("redeclare-classic", map("x-dead-letter-exchange", "", "x-queue-type", "classic")),
                "without_type", redeclare("redeclare-classic-rev", map("x-dead-letter-exchange", ""))));
    }

    static void blocked() throws Exception {
        List<Object> events = Collections.synchronizedList(new ArrayList<>());
        Connection c = connect();
        c.addBlockedListener(new BlockedListener() {
            @Override
            public void handleBlocked(String reason) {
                events.add(Arrays.asList("blocked", reason));
            }

            @Override
            public void handleUnblocked() {
                events.add(Collections.singletonList("unblocked"));
            }
        });
        Channel ch = c.createChannel();
        String q = name("blocked");
        ch.queueDeclare(q, false, true, false, null);
        ch.basicPublish("", q, null, "held while blocked".getBytes(StandardCharsets.UTF_8));
        waitUntil(10000, () -> events.size() >= 1);
        System.out.println("{\"signal\":\"blocked\"}");
        System.out.flush();
        waitUntil(45000, () -> events.size() >= 2); // cleared once every blocked check has signalled
        List<Object> got = drainGet(ch, q);
        c.close();
        emit("blocked", map("events", new ArrayList<>(events), "got", got));
    }

    interface Check {
        void run() throws Exception;
    }

    public static void main(String[] argv) {
        url = argv[0];
        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("connect", JavaChecks::connectCheck);
        checks.put("hello", JavaChecks::hello);
        checks.put("work_queues", JavaChecks::workQueues);
        checks.put("fanout", JavaChecks::fanout);
        checks.put("direct", JavaChecks::direct);
        checks.put("topic", JavaChecks::topic);
        checks.put("rpc", () -> emit("rpc", rpc(false)));
        checks.put("rpc_declared", () -> emit("rpc_declared", rpc(true)));
        checks.put("confirms", JavaChecks::confirms);
        checks.put("headers", JavaChecks::headers);
        checks.put("redeclare_args", JavaChecks::redeclareArgs);
        checks.put("redeclare_classic", JavaChecks::redeclareClassic);
        checks.put("blocked", JavaChecks::blocked);
        List<String> run = argv.length > 1 ? Arrays.asList(argv).subList(1, argv.length)
                : Arrays.asList("connect", "hello", "work_queues", "fanout", "direct", "topic", "rpc", "rpc_declared", "confirms", "headers");
        for (String name : run) {
            try {
                checks.get(name).run();
            } catch (Exception e) {
                emit(name, map("failed", e.getClass().getSimpleName() + ": " + e.getMessage()));
                e.printStackTrace();
            }
        }
        System.exit(0);
    }
}
