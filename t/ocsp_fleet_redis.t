# The verdict cache on redis: servers "c" and "d" share SecureRevocationCache redis:127.0.0.1:PORT (a real
# redis-server started here, 127.0.0.1 only, nothing kept on disk, stopped at the end) and one
# SecureRevocationCacheKey. A verdict c fetched
# from the responder (GOOD, and REVOKED) is used by d without a responder query - the memcached fleet test
# of t/ocsp_fleet.t with the other shared provider.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use SecureTest qw(tls_request info_json cert_file key_file run_cmd t_logs client);
use SecureOCSP qw(query_count responder_url start_instance start_redis stop_all spare_port_base instance_vhost);

my $have_redis = grep { -x "$_/redis-server" } split /:/, ($ENV{PATH} || '');
plan tests => 12, need { 'redis-server is not installed (build/deps installs it)' => $have_redis },
    need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c', 'mod_socache_redis.c');

my $base = spare_port_base();
my %port = (c => $base + 6, d => $base + 7, redis => $base + 8);

start_redis($port{redis});
my $cache = "SecureRevocationCache redis:127.0.0.1:$port{redis}\n"
          . 'SecureRevocationCacheKey "' . SecureOCSP::cache_key_file('redis') . "\"\n";
for my $name ('c', 'd') {
    start_instance(name => $name, ports => [$port{$name}],
                   conf => $cache . instance_vhost($port{$name}, cert_file('ca'), "    SecureOCSP on\n"
                                                   . '    SecureOCSPResponder "'
                                                   . responder_url('asf', 'good', 'redis') . "\"\n"));
}

sub req {
    my ($name, $cert) = @_;
    return tls_request(port => $port{$name}, path => '/info', timeout => 15,
                       ssl => { client($cert),
                                SSL_version => 'TLSv1_2' });
}

# keys the redis-server holds (bounded: redis-cli with a timeout)
sub redis_keys {
    my ($rc, $out) = run_cmd(['redis-cli', '-h', '127.0.0.1', '-p', $port{redis}, 'DBSIZE'], '', 10);
    return $rc == 0 && $out =~ /(\d+)/ ? $1 : -1;
}

# httpd listens (its port answers) before the modules' post_config has run: wait for the line (10 s at most)
ok(SecureTest::wait_until(10, sub {
       open my $el, '<', t_logs() . '/inst-d/logs/error_log' or die "inst-d error_log: $!";
       return scalar grep { /SEC10604: revocation verdict cache: redis:127\.0\.0\.1:$port{redis}/ } <$el>;
   }), 'server d uses the redis verdict cache (SEC10604)');
{
    my $before = query_count('redis');
    my $v = info_json(req('c', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'redis fleet: server c asks the responder: GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', '... from OCSP');
    is(query_count('redis'), $before + 1, '... one query');
    cmp_ok(redis_keys(), '>=', 1, '... and the verdict is stored in redis');
    $v = info_json(req('d', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'redis fleet: server d answers GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'cache', "... from redis (c's verdict)");
    is(query_count('redis'), $before + 1, '... without a responder query');
}
{
    my $before = query_count('redis');
    my $r = req('c', 'client_revoked');
    like($r->{error} // '', qr/certificate revoked/i, 'redis fleet: server c refuses client_revoked (alert 44)');
    is(query_count('redis'), $before + 1, '... after one query');
    $r = req('d', 'client_revoked');
    like($r->{error} // '', qr/certificate revoked/i, 'redis fleet: server d refuses it too');
    is(query_count('redis'), $before + 1, "... from c's REVOKED verdict in redis, without a query");
}
stop_all();
