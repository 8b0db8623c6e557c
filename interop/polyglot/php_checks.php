<?php
// Polyglot interop checks for PHP php-amqplib.
//
// Usage: php php_checks.php URL [CHECK ...]   (POLY_RUN names the run)
// Prints one JSON line per check: what the client observed.
require_once 'PhpAmqpLib/autoload.php';

use PhpAmqpLib\Connection\AMQPStreamConnection;
use PhpAmqpLib\Exception\AMQPProtocolException;
use PhpAmqpLib\Exception\AMQPTimeoutException;
use PhpAmqpLib\Message\AMQPMessage;
use PhpAmqpLib\Wire\AMQPAbstractCollection as T;
use PhpAmqpLib\Wire\AMQPArray;
use PhpAmqpLib\Wire\AMQPDecimal;
use PhpAmqpLib\Wire\AMQPTable;

$URL = $argv[1];
$RUN = getenv('POLY_RUN') ?: 'local';
const REPLY_TO = 'amq.rabbitmq.reply-to';

function name($suffix)
{
    global $RUN;
    return "poly-$RUN-php-$suffix";
}

function connect($opts = [])
{
    global $URL;
    $u = parse_url($URL);
    $vhost = isset($u['path']) && $u['path'] !== '/' && $u['path'] !== '' ? urldecode(substr($u['path'], 1)) : '/';
    $heartbeat = $opts['heartbeat'] ?? 0;
    return new AMQPStreamConnection(
        $u['host'], $u['port'] ?? 5672, urldecode($u['user'] ?? 'guest'), $opts['password'] ?? urldecode($u['pass'] ?? 'guest'),
        $vhost, false, $opts['login_method'] ?? 'PLAIN', null, 'en_US', 3.0, max(3.0, 2 * $heartbeat + 1), null, false, $heartbeat
    );
}

function emit($check, $obs)
{
    ksort($obs);
    echo json_encode(['check' => $check] + $obs, JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
    flush();
}

function amqp_error($e)
{
    if ($e instanceof AMQPProtocolException) {
        return ['code' => $e->getCode(), 'text' => $e->getMessage()];
    }
    return ['error' => get_class($e)];
}

/** Runs the channel's event loop until $done() or the time is up. */
function wait_until($ch, $done, $seconds = 5.0)
{
    $deadline = microtime(true) + $seconds;
    while (!$done() && microtime(true) < $deadline) {
        try {
            $ch->wait(null, false, 0.1);
        } catch (AMQPTimeoutException $e) {
        }
    }
}

function drain_get($ch, $q)
{
    $out = [];
    for ($i = 0; $i < 20; $i++) {
        $m = $ch->basic_get($q, true);
        if ($m === null) {
            break;
        }
        $out[] = $m->getBody();
    }
    return $out;
}

function declare_ok($r)
{
    return ['queue' => $r[0], 'messages' => $r[1], 'consumers' => $r[2]];
}

function check_connect()
{
    $c = connect(['heartbeat' => 7]);
    $caps = $c->getServerProperties()['capabilities'][1] ?? [];
    $out = [];
    foreach (['publisher_confirms', 'exchange_exchange_bindings', 'basic.nack', 'consumer_cancel_notify', 'connection.blocked',
              'authentication_failure_close', 'per_consumer_qos', 'direct_reply_to'] as $k) {
        $out[$k] = isset($caps[$k]) ? $caps[$k][1] : null;
    }
    $obs = ['heartbeat' => $c->getHeartbeat(), 'capabilities' => $out, 'mechanism' => 'PLAIN'];
    $c->close();
    try {
        connect(['password' => 'wrong-password'])->close();
        $obs['bad_password'] = 'opened';
    } catch (Exception $e) {
        $obs['bad_password'] = get_class($e);
    }
    emit('connect', $obs);
}

function check_connect_amqplain()
{
    $c = connect(['login_method' => 'AMQPLAIN']);
    $ch = $c->channel();
    $r = $ch->queue_declare('', false, false, true, true);
    $c->close();
    emit('connect_amqplain', ['opened' => true, 'server_named' => strpos($r[0], 'amq.gen-') === 0]);
}

function check_hello()
{
    $c = connect();
    $ch = $c->channel();
    $q = name('hello');
    $ch->queue_declare($q, false, false, false, false);
    $ch->basic_publish(new AMQPMessage('Hello World!'), '', $q);
    $got = [];
    $ch->basic_consume($q, '', false, true, false, false, function ($m) use (&$got) {
        $got[] = ['body' => $m->getBody(), 'routing_key' => $m->getRoutingKey(), 'exchange' => $m->getExchange(),
                  'redelivered' => $m->isRedelivered()];
    });
    wait_until($ch, function () use (&$got) { return count($got) === 1; });
    $ch->queue_delete($q);
    $c->close();
    emit('hello', ['got' => $got]);
}

function check_work_queues()
{
    $c = connect();
    $ch = $c->channel();
    $q = name('tasks');
    $ch->queue_declare($q, false, true, false, false);
    for ($i = 0; $i < 4; $i++) {
        $ch->basic_publish(new AMQPMessage("task $i", ['delivery_mode' => AMQPMessage::DELIVERY_MODE_PERSISTENT]), '', $q);
    }
    $ch->basic_qos(null, 1, null);
    $seen = [];
    $nacked = false;
    $ch->basic_consume($q, '', false, false, false, false, function ($m) use (&$seen, &$nacked) {
        $seen[] = ['body' => $m->getBody(), 'redelivered' => $m->isRedelivered(), 'delivery_mode' => $m->get('delivery_mode')];
        if (!$nacked) {
            $nacked = true;
            $m->nack(true);
        } else {
            $m->ack();
        }
    });
    wait_until($ch, function () use (&$seen) { return count($seen) === 5; });
    $left = $ch->queue_declare($q, true)[1];
    $ch->queue_delete($q);
    $c->close();
    emit('work_queues', ['seen' => $seen, 'left' => $left]);
}

function check_fanout()
{
    $c = connect();
    $ch = $c->channel();
    $x = name('logs');
    $ch->exchange_declare($x, 'fanout', false, false, false);
    $qs = [];
    for ($i = 0; $i < 2; $i++) {
        $q = $ch->queue_declare('', false, false, true, true)[0];
        $ch->queue_bind($q, $x);
        $qs[] = $q;
    }
    $ch->basic_publish(new AMQPMessage('log line'), $x, 'ignored');
    $got = array_map(function ($q) use ($ch) { return drain_get($ch, $q); }, $qs);
    $named = count(array_filter($qs, function ($q) { return strpos($q, 'amq.gen-') === 0; })) === 2;
    $ch->exchange_delete($x);
    $c->close();
    emit('fanout', ['got' => $got, 'server_named' => $named]);
}

function routed($ch, $x, $bindings, $keys)
{
    $qs = [];
    foreach ($bindings as $label => $patterns) {
        $q = $ch->queue_declare('', false, false, true, true)[0];
        foreach ($patterns as $p) {
            $ch->queue_bind($q, $x, $p);
        }
        $qs[$label] = $q;
    }
    foreach ($keys as $k) {
        $ch->basic_publish(new AMQPMessage($k), $x, $k);
    }
    $out = [];
    foreach ($qs as $label => $q) {
        $out[$label] = drain_get($ch, $q);
    }
    ksort($out);
    return $out;
}

function check_direct()
{
    $c = connect();
    $ch = $c->channel();
    $x = name('direct');
    $ch->exchange_declare($x, 'direct', false, false, false);
    $got = routed($ch, $x, ['errors' => ['error'], 'all' => ['info', 'warning', 'error']], ['info', 'warning', 'error', 'debug']);
    $ch->exchange_delete($x);
    $c->close();
    emit('direct', ['got' => $got]);
}

function check_topic()
{
    $c = connect();
    $ch = $c->channel();
    $x = name('topic');
    $ch->exchange_declare($x, 'topic', false, false, false);
    $got = routed($ch, $x, ['q1' => ['*.orange.*'], 'q2' => ['*.*.rabbit', 'lazy.#'], 'hash' => ['#']],
        ['quick.orange.rabbit', 'lazy.orange.elephant', 'quick.orange.fox', 'lazy.brown.fox', 'lazy.pink.rabbit',
         'quick.brown.fox', 'orange', 'quick.orange.male.rabbit', 'lazy.orange.male.rabbit', 'lazy', '']);
    $ch->exchange_delete($x);
    $c->close();
    emit('topic', ['got' => $got]);
}

function rpc($declare_first)
{
    $c = connect();
    $server = $c->channel();
    $client = $c->channel();
    $rq = name($declare_first ? 'rpc-declared' : 'rpc');
    $server->queue_declare($rq, false, false, true, false);
    $server->basic_consume($rq, '', false, false, false, false, function ($m) use ($server) {
        $n = (int)$m->getBody();
        $server->basic_publish(new AMQPMessage((string)($n * $n), ['correlation_id' => $m->get('correlation_id')]), '', $m->get('reply_to'));
        $m->ack();
    });
    $obs = [];
    if ($declare_first) {
        try {
            $obs['passive_declare'] = declare_ok($client->queue_declare(REPLY_TO, true));
        } catch (Exception $e) {
            $obs['passive_declare'] = amqp_error($e);
            $client = $c->channel();
        }
        try {
            $obs['declare_before_consuming'] = declare_ok($client->queue_declare(REPLY_TO, false, false, true, true));
        } catch (Exception $e) {
            $obs['declare_before_consuming'] = amqp_error($e);
            $client = $c->channel();
        }
    }
    $replies = [];
    $client->basic_consume(REPLY_TO, '', false, true, false, false, function ($m) use (&$replies) {
        $replies[] = ['body' => $m->getBody(), 'correlation_id' => $m->get('correlation_id'),
                      'routing_key_prefix' => substr($m->getRoutingKey(), 0, strlen(REPLY_TO))];
    });
    $open = true;
    if ($declare_first) {
        try {
            $obs['declare_while_consuming'] = declare_ok($client->queue_declare(REPLY_TO, false, false, true, true));
        } catch (Exception $e) {
            $obs['declare_while_consuming'] = amqp_error($e);
            $open = false;
        }
    }
    if ($open) {
        foreach ([3, 7] as $i => $n) {
            $client->basic_publish(new AMQPMessage((string)$n, ['reply_to' => REPLY_TO, 'correlation_id' => "c$i"]), '', $rq);
        }
        // Both channels share the socket: waiting on either dispatches frames for both.
        $deadline = microtime(true) + 5;
        while (count($replies) < 2 && microtime(true) < $deadline) {
            foreach ([$server, $client] as $ch) {
                try {
                    $ch->wait(null, true, 0.05);
                } catch (AMQPTimeoutException $e) {
                }
            }
        }
    }
    $obs['replies'] = $replies;
    $c->close();
    return $obs;
}

function check_rpc()
{
    emit('rpc', rpc(false));
}

function check_rpc_declared()
{
    emit('rpc_declared', rpc(true));
}

function check_confirms()
{
    $c = connect();
    $ch = $c->channel();
    $ch->confirm_select();
    $q = name('confirms');
    $ch->queue_declare($q, false, false, false, false);
    $acks = 0;
    $nacks = 0;
    $returns = [];
    $ch->set_ack_handler(function ($m) use (&$acks) { $acks++; });
    $ch->set_nack_handler(function ($m) use (&$nacks) { $nacks++; });
    $ch->set_return_listener(function ($code, $text, $exchange, $rk, $m) use (&$returns) {
        $returns[] = ['code' => $code, 'text' => $text];
    });
    for ($i = 0; $i < 3; $i++) {
        $ch->basic_publish(new AMQPMessage('c', ['delivery_mode' => 2]), '', $q);
    }
    $ch->basic_publish(new AMQPMessage('x'), '', name('no-such-queue'), true);
    $ch->wait_for_pending_acks_returns(5);
    $obs = ['acks' => $acks, 'nacks' => $nacks, 'returned' => $returns, 'depth' => $ch->queue_declare($q, true)[1]];
    try {
        $ch->exchange_declare(name('no-such-exchange'), 'direct', true);
        $obs['missing_exchange'] = 'ok';
    } catch (Exception $e) {
        $obs['missing_exchange'] = amqp_error($e);
    }
    $c->channel()->queue_delete($q);
    $c->close();
    emit('confirms', $obs);
}

function describe($v)
{
    if ($v instanceof AMQPTable) {
        $out = [];
        foreach ($v->getNativeData() as $k => $x) {
            $out[$k] = describe($x);
        }
        ksort($out);
        return ['table', $out];
    }
    if ($v instanceof AMQPArray) {
        return ['array', array_map('describe', $v->getNativeData())];
    }
    if ($v instanceof AMQPDecimal) {
        return ['decimal', [$v->getN(), $v->getE()]];
    }
    if (is_array($v)) {
        $out = [];
        foreach ($v as $k => $x) {
            $out[$k] = describe($x);
        }
        return ['php-array', $out];
    }
    if (is_string($v) && !mb_check_encoding($v, 'UTF-8')) {
        return ['binary', bin2hex($v)];
    }
    return [gettype($v), $v];
}

function check_headers()
{
    $c = connect();
    $ch = $c->channel();
    $q = name('headers');
    $ch->queue_declare($q, false, false, true, false);
    $h = new AMQPTable();
    $h->set('str', 'text é', T::T_STRING_LONG);
    $h->set('bytes', "\x00\x01\xff", T::T_BYTES);
    $h->set('true', true, T::T_BOOL);
    $h->set('false', false, T::T_BOOL);
    $h->set('i8', -3, T::T_INT_SHORTSHORT);
    $h->set('u8', 200, T::T_INT_SHORTSHORT_U);
    $h->set('i16', -300, T::T_INT_SHORT);
    $h->set('u16', 60000, T::T_INT_SHORT_U);
    $h->set('i32', -70000, T::T_INT_LONG);
    $h->set('u32', 4000000000, T::T_INT_LONG_U);
    $h->set('i64', 1 << 40, T::T_INT_LONGLONG);
    // php-amqplib 3.5 cannot write f/d (float/double) values.
    $h->set('decimal', new AMQPDecimal(314, 2), T::T_DECIMAL);
    $h->set('timestamp', 1700000000, T::T_TIMESTAMP);
    $h->set('void', null, T::T_VOID);
    $h->set('table', new AMQPTable(['inner' => 1, 's' => 'x']), T::T_TABLE);
    $h->set('array', new AMQPArray([1, 'two', true, null]), T::T_ARRAY);
    $msg = new AMQPMessage('{}', [
        'content_type' => 'application/json', 'content_encoding' => 'utf-8', 'application_headers' => $h,
        'delivery_mode' => 2, 'priority' => 3, 'correlation_id' => 'corr', 'reply_to' => 'rq', 'expiration' => '60000',
        'message_id' => 'mid', 'timestamp' => 1700000000, 'type' => 'kind', 'user_id' => 'guest', 'app_id' => 'poly',
    ]);
    $ch->basic_publish($msg, '', $q);
    $m = $ch->basic_get($q, true);
    $c->close();
    $props = $m->get_properties();
    $hdrs = describe($props['application_headers'] ?? new AMQPTable())[1];
    unset($props['application_headers']);
    ksort($props);
    emit('headers', ['headers' => $hdrs, 'properties' => $props, 'body' => $m->getBody()]);
}

function redeclare($queue, $args)
{
    global $RUN;
    $c = connect();
    $ch = $c->channel();
    try {
        $obs = ['ok' => declare_ok($ch->queue_declare("poly-$RUN-$queue", false, true, false, false, false, new AMQPTable($args)))];
    } catch (Exception $e) {
        $obs = amqp_error($e);
    }
    try {
        $c->close();
    } catch (Exception $e) {
    }
    return $obs;
}

function check_redeclare_args()
{
    // AMQPTable picks I for these small integers, like pika.
    emit('redeclare_args', redeclare('redeclare-args', ['x-max-length' => 10, 'x-message-ttl' => 60000, 'x-dead-letter-exchange' => '']));
}

function check_redeclare_classic()
{
    emit('redeclare_classic', [
        'with_type' => redeclare('redeclare-classic', ['x-dead-letter-exchange' => '', 'x-queue-type' => 'classic']),
        'without_type' => redeclare('redeclare-classic-rev', ['x-dead-letter-exchange' => '']),
    ]);
}

function check_blocked()
{
    $events = [];
    $c = connect();
    $c->set_connection_block_handler(function ($reason) use (&$events) { $events[] = ['blocked', $reason]; });
    $c->set_connection_unblock_handler(function () use (&$events) { $events[] = ['unblocked']; });
    $ch = $c->channel();
    $q = name('blocked');
    $ch->queue_declare($q, false, false, true, false);
    $ch->basic_publish(new AMQPMessage('held while blocked'), '', $q);
    wait_until($ch, function () use (&$events) { return count($events) >= 1; }, 10);
    echo json_encode(['signal' => 'blocked']), "\n";
    flush();
    // The alarm is cleared once every blocked check has signalled.
    wait_until($ch, function () use (&$events) { return count($events) >= 2; }, 45);
    $got = drain_get($ch, $q);
    $c->close();
    emit('blocked', ['events' => $events, 'got' => $got]);
}

$checks = array_slice($argv, 2);
if (!$checks) {
    $checks = ['connect', 'connect_amqplain', 'hello', 'work_queues', 'fanout', 'direct', 'topic', 'rpc', 'rpc_declared', 'confirms', 'headers'];
}
foreach ($checks as $check) {
    try {
        call_user_func("check_$check");
    } catch (Throwable $e) {
        emit($check, ['failed' => get_class($e) . ': ' . $e->getMessage()]);
        fwrite(STDERR, (string)$e . "\n");
    }
}
