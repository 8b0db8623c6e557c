# Polyglot interop checks for Ruby Bunny.
#
# Usage: ruby bunny_checks.rb URL [CHECK ...]   (POLY_RUN names the run)
# Prints one JSON line per check: what the client observed.
require "bunny"
require "bigdecimal"
require "json"
require "logger"
require "time"

URL = ARGV[0]
RUN = ENV.fetch("POLY_RUN", "local")

def name(suffix) = "poly-#{RUN}-bunny-#{suffix}"

def connect(**opts)
  c = Bunny.new(URL, logger: Logger.new(File::NULL), automatically_recover: false, **opts)
  c.start
  c
end

def emit(check, obs)
  puts JSON.generate({ check: check }.merge(obs))
  $stdout.flush
end

def amqp_error(e)
  close = e.respond_to?(:channel_close) ? e.channel_close : nil
  return { code: close.reply_code, text: close.reply_text } if close
  { error: e.class.name }
end

def wait_until(seconds = 5)
  deadline = Time.now + seconds
  sleep 0.02 until yield || Time.now > deadline
end

def drain_get(q)
  out = []
  20.times do
    _, _, body = q.pop
    break if body.nil?
    out << body
  end
  out
end

def check_connect
  c = connect(heartbeat: 7)
  caps = c.server_capabilities
  keys = %w[publisher_confirms exchange_exchange_bindings basic.nack consumer_cancel_notify connection.blocked
            authentication_failure_close per_consumer_qos direct_reply_to]
  obs = { heartbeat: c.heartbeat, channel_max: c.channel_max, frame_max: c.frame_max,
          capabilities: keys.to_h { |k| [k, caps[k]] } }
  c.close
  begin
    connect(pass: "wrong-password").close
    obs[:bad_password] = "opened"
  rescue StandardError => e
    obs[:bad_password] = e.class.name
  end
  emit("connect", obs)
end

def check_hello
  c = connect
  ch = c.create_channel
  q = ch.queue(name("hello"))
  ch.default_exchange.publish("Hello World!", routing_key: q.name)
  got = []
  q.subscribe(manual_ack: false) do |di, _props, body|
    got << { body: body, routing_key: di.routing_key, exchange: di.exchange, redelivered: di.redelivered? }
  end
  wait_until { got.size == 1 }
  q.delete
  c.close
  emit("hello", got: got)
end

def check_work_queues
  c = connect
  ch = c.create_channel
  ch.prefetch(1)
  q = ch.queue(name("tasks"), durable: true)
  4.times { |i| ch.default_exchange.publish("task #{i}", routing_key: q.name, persistent: true) }
  seen = []
  nacked = false
  q.subscribe(manual_ack: true) do |di, props, body|
    seen << { body: body, redelivered: di.redelivered?, delivery_mode: props.delivery_mode }
    if nacked
      ch.ack(di.delivery_tag)
    else
      nacked = true
      ch.nack(di.delivery_tag, false, true)
    end
  end
  wait_until { seen.size == 5 }
  left = ch.queue_declare(q.name, passive: true).message_count
  q.delete
  c.close
  emit("work_queues", seen: seen, left: left)
end

def check_fanout
  c = connect
  ch = c.create_channel
  x = ch.fanout(name("logs"))
  qs = 2.times.map { ch.queue("", exclusive: true).bind(x) }
  x.publish("log line", routing_key: "ignored")
  got = qs.map { |q| drain_get(q) }
  server_named = qs.all? { |q| q.name.start_with?("amq.gen-") }
  x.delete
  c.close
  emit("fanout", got: got, server_named: server_named)
end

def routed(ch, x, bindings, keys)
  qs = bindings.to_h do |label, patterns|
    q = ch.queue("", exclusive: true)
    patterns.each { |p| q.bind(x, routing_key: p) }
    [label, q]
  end
  keys.each { |k| x.publish(k, routing_key: k) }
  qs.to_h { |label, q| [label, drain_get(q)] }
end

def check_direct
  c = connect
  ch = c.create_channel
  x = ch.direct(name("direct"))
  got = routed(ch, x, { errors: ["error"], all: %w[info warning error] }, %w[info warning error debug])
  x.delete
  c.close
  emit("direct", got: got)
end

def check_topic
  c = connect
  ch = c.create_channel
  x = ch.topic(name("topic"))
  got = routed(ch, x, { q1: ["*.orange.*"], q2: ["*.*.rabbit", "lazy.#"], hash: ["#"] },
               ["quick.orange.rabbit", "lazy.orange.elephant", "quick.orange.fox", "lazy.brown.fox",
                "lazy.pink.rabbit", "quick.brown.fox", "orange", "quick.orange.male.rabbit",
                "lazy.orange.male.rabbit", "lazy", ""])
  x.delete
  c.close
  emit("topic", got: got)
end

def declare_ok(r) = { queue: r.queue, messages: r.message_count, consumers: r.consumer_count }

def rpc(declare_first)
  c = connect
  server = c.create_channel
  client = c.create_channel
  rq = server.queue(name(declare_first ? "rpc-declared" : "rpc"), exclusive: true)
  rq.subscribe(manual_ack: true) do |di, props, body|
    n = body.to_i
    server.default_exchange.publish((n * n).to_s, routing_key: props.reply_to, correlation_id: props.correlation_id)
    server.ack(di.delivery_tag)
  end
  obs = {}
  if declare_first
    begin
      obs[:passive_declare] = declare_ok(client.queue_declare("amq.rabbitmq.reply-to", passive: true))
    rescue Bunny::Exception => e
      obs[:passive_declare] = amqp_error(e)
      client = c.create_channel
    end
    begin
      obs[:declare_before_consuming] = declare_ok(client.queue_declare("amq.rabbitmq.reply-to", exclusive: true))
    rescue Bunny::Exception => e
      obs[:declare_before_consuming] = amqp_error(e)
      client = c.create_channel
    end
  end
  replies = []
  consumer = Bunny::Consumer.new(client, "amq.rabbitmq.reply-to", client.generate_consumer_tag, true)
  consumer.on_delivery do |di, props, body|
    replies << { body: body, correlation_id: props.correlation_id,
                 routing_key_prefix: di.routing_key[0, "amq.rabbitmq.reply-to".size] }
  end
  client.basic_consume_with(consumer)
  if declare_first
    begin
      # What `ch.queue("amq.rabbitmq.reply-to")` sends, as RPC examples written for Bunny do.
      obs[:declare_while_consuming] = declare_ok(client.queue_declare("amq.rabbitmq.reply-to"))
    rescue Bunny::Exception => e
      obs[:declare_while_consuming] = amqp_error(e)
    end
  end
  if client.open?
    [3, 7].each_with_index do |n, i|
      client.default_exchange.publish(n.to_s, routing_key: rq.name, reply_to: "amq.rabbitmq.reply-to", correlation_id: "c#{i}")
    end
    wait_until { replies.size == 2 }
  end
  obs[:replies] = replies
  c.close
  obs
end

def check_rpc = emit("rpc", rpc(false))
def check_rpc_declared = emit("rpc_declared", rpc(true))

def check_confirms
  c = connect
  ch = c.create_channel
  ch.confirm_select
  q = ch.queue(name("confirms"))
  returns = []
  x = ch.direct(name("confirms"))
  x.on_return { |ri, _p, _b| returns << { code: ri.reply_code, text: ri.reply_text } }
  q.bind(x, routing_key: "k")
  3.times { x.publish("c", routing_key: "k", persistent: true) }
  x.publish("x", routing_key: "unbound", mandatory: true)
  all_acked = ch.wait_for_confirms
  wait_until { returns.size == 1 }
  obs = { all_acked: all_acked, nacked: ch.nacked_set.size, returned: returns,
          depth: ch.queue_declare(q.name, passive: true).message_count }
  begin
    ch.exchange_declare(name("no-such-exchange"), "direct", passive: true)
    obs[:missing_exchange] = "ok"
  rescue Bunny::Exception => e
    obs[:missing_exchange] = amqp_error(e)
  end
  ch2 = c.create_channel
  ch2.queue_delete(q.name)
  ch2.exchange_delete(x.name)
  c.close
  emit("confirms", obs)
end

def describe(v)
  case v
  when true, false then ["bool", v]
  when Integer then ["int", v]
  when Float then ["float", v]
  when BigDecimal then ["decimal", v.to_s("F")]
  when Time then ["time", v.utc.iso8601]
  when String
    utf8 = v.dup.force_encoding(Encoding::UTF_8)
    utf8.valid_encoding? ? ["str", utf8] : ["bytes", v.unpack1("H*")]
  when Hash then ["table", v.sort.to_h { |k, x| [k, describe(x)] }]
  when Array then ["array", v.map { |x| describe(x) }]
  when nil then ["void", nil]
  else [v.class.name, v.inspect]
  end
end

def check_headers
  c = connect
  ch = c.create_channel
  q = ch.queue(name("headers"), exclusive: true)
  headers = {
    "str" => "text é", "sym" => :symbol, "true" => true, "false" => false, "int" => 7, "neg" => -5,
    "int64" => 2**40, "float" => 1.5, "float32" => AMQ::Protocol::Float32Bit.new(2.5),
    "decimal" => BigDecimal("3.14"), "time" => Time.at(1_700_000_000), "table" => { "inner" => 1, "s" => "x" },
    "array" => [1, "two", true, nil, [3]], "void" => nil
  }
  ch.default_exchange.publish("{}", routing_key: q.name, headers: headers, content_type: "application/json",
                                    content_encoding: "utf-8", persistent: true, priority: 3, correlation_id: "corr",
                                    reply_to: "rq", expiration: "60000", message_id: "mid",
                                    timestamp: 1_700_000_000, type: "kind", user_id: "guest", app_id: "poly")
  _, props, body = q.pop
  c.close
  hdrs = (props.headers || {}).sort.to_h { |k, v| [k, describe(v)] }
  keys = %i[content_type content_encoding delivery_mode priority correlation_id reply_to expiration message_id
            type user_id app_id]
  properties = keys.to_h { |k| [k, props.public_send(k)] }
  properties[:timestamp] = props.timestamp&.to_i
  emit("headers", headers: hdrs, properties: properties, body: body)
end

REDECLARE_ARGS = { "x-max-length" => 10, "x-message-ttl" => 60_000, "x-dead-letter-exchange" => "" }.freeze

def redeclare(queue, args)
  c = connect
  ch = c.create_channel
  # Declared first by the pika program with 32-bit integers; Bunny sends them as 64-bit.
  obs = begin
    { ok: declare_ok(ch.queue_declare("poly-#{RUN}-#{queue}", durable: true, arguments: args)) }
  rescue Bunny::Exception => e
    amqp_error(e)
  end
  c.close
  obs
end

def check_redeclare_args = emit("redeclare_args", redeclare("redeclare-args", REDECLARE_ARGS))
# Declared without x-queue-type, redeclared with "classic"; and the reverse (-rev).
def check_redeclare_classic
  emit("redeclare_classic", { with_type: redeclare("redeclare-classic", { "x-dead-letter-exchange" => "", "x-queue-type" => "classic" }),
                              without_type: redeclare("redeclare-classic-rev", { "x-dead-letter-exchange" => "" }) })
end

def check_blocked
  events = []
  c = connect
  c.on_blocked { |m| events << ["blocked", m.reason] }
  c.on_unblocked { events << ["unblocked"] }
  ch = c.create_channel
  q = ch.queue(name("blocked"), exclusive: true)
  ch.default_exchange.publish("held while blocked", routing_key: q.name)
  wait_until(10) { events.size >= 1 }
  puts JSON.generate({ signal: "blocked" })
  $stdout.flush
  wait_until(45) { events.size >= 2 } # cleared once every blocked check has signalled
  got = drain_get(q)
  c.close
  emit("blocked", events: events, got: got)
end

DEFAULT = %w[connect hello work_queues fanout direct topic rpc rpc_declared confirms headers].freeze

(ARGV[1..].empty? ? DEFAULT : ARGV[1..]).each do |check|
  send("check_#{check}")
rescue StandardError => e
  emit(check, failed: "#{e.class}: #{e.message}")
  warn e.full_message
end
