# The shared verdict cache is input from outside the server (issue 9, finding 2). Four servers share one
# real memcached (127.0.0.1 only) and ask the test responder about the asf client certificates:
#   c, d  SecureRevocationCacheKey K1      (a fleet)
#   e     SecureRevocationCacheKey K2      (a server with another key)
#   f     key K1, SecureOCSPMaxAge 3600    (a stricter vhost: another trust context)
# What an attacker who can write to memcached tries, and what must happen:
#   1. a well-formed GOOD record for client_revoked, in the unauthenticated format and under the cache key
#      of mod_secure before this fix, written straight into memcached: client_revoked is still refused;
#   2. c's GOOD record for client_ok copied onto client_revoked's entry: refused (the MAC binds the key);
#   3. a record with one bit changed: ignored, counted (cache_invalid), logged at most once per 10 s;
#   5. c and d share verdicts (one responder query); e (other key) and f (stricter) do not reuse them.
# And 4: `httpd -t` and startup refuse memcache without SecureRevocationCacheKey, and a key file that is
# group- or world-accessible, too short, missing or not a regular file, each with a message naming the
# directive, the file and what is wrong.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);
use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use JSON::PP ();
use Time::HiRes ();
use SecureTest qw(tls_request info_json cert_file key_file config_test run_cmd t_logs client);
use SecureOCSP qw(query_count responder_url start_instance start_memcached stop_all spare_port_base
                  instance_vhost cache_key_file);
use SecurePolicy qw(start_fails);

plan tests => 64, need_module('mod_ssl.c', 'mod_secure.c', 'mod_cgid.c', 'mod_socache_memcache.c');

my $base = spare_port_base();
my %port = (c => $base + 1, cs => $base + 2, d => $base + 3, ds => $base + 4, e => $base + 5,
            es => $base + 6, f => $base + 7, fs => $base + 8, memcached => $base + 9);
my $tag = 'cacheauth';
my $mc_ns = 'mod_secure-revocation:';   # the ap_socache namespace + ':' mod_socache_memcache puts first

# ---- a small memcached client (one connection per command, bounded in time) ------------------------

sub mc {
    my ($cmd, $data, $end) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{memcached}, Timeout => 5)
        or die "memcached: $!";
    binmode $s;
    print $s $cmd, "\r\n", (defined $data ? ($data, "\r\n") : ());
    my ($buf, $sel, $deadline) = ('', IO::Select->new($s), Time::HiRes::time() + 5);
    while ($buf !~ $end && Time::HiRes::time() < $deadline) {
        next unless $sel->can_read(0.5);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    close $s;
    return $buf;
}
sub mc_set { my ($k, $v) = @_; return mc("set $k 0 600 " . length($v), $v, qr/\r\n\z/) =~ /^STORED/ ? 1 : 0 }
sub mc_delete { return mc("delete $_[0]", undef, qr/\r\n\z/) =~ /^(DELETED|NOT_FOUND)/ ? 1 : 0 }
sub mc_get {
    my $r = mc("get $_[0]", undef, qr/(^|\n)END\r\n\z/);
    return $r =~ /^VALUE \S+ \d+ (\d+)\r\n/ ? substr($r, length($&), $1) : undef;
}
sub mc_keys {
    my $r = mc('lru_crawler metadump all', undef, qr/(^|\n)END\r\n\z/);
    # metadump URL-encodes the keys (':' is %3A)
    return { map { /^key=(\S+)/ ? ((my $k = $1) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ger => 1) : () } split /\n/, $r };
}
# The one key that appeared since $before (a hash from mc_keys), or undef.
sub new_key {
    my $before = shift;
    my @new = grep { !$before->{$_} } keys %{ mc_keys() };
    return @new == 1 ? $new[0] : undef;
}

# ---- the cache key mod_secure used before this fix (35dd740) --------------------------------------

sub der_file {
    my $pem = shift;
    my $out = t_logs() . '/cacheauth-' . int(rand(1e9)) . '.der';
    my ($rc, $msg) = run_cmd(['openssl', 'x509', '-in', $pem, '-outform', 'DER', '-out', $out], '', 15);
    die "openssl x509: $msg" if $rc != 0;
    open my $fh, '<:raw', $out or die "$out: $!";
    local $/;
    my $der = <$fh>;
    unlink $out;
    return $der;
}
# (tag, offset of the TLV, header length, content length)
sub tlv {
    my ($buf, $off) = @_;
    my ($tag, $len, $hl) = (ord(substr $buf, $off, 1), ord(substr $buf, $off + 1, 1), 2);
    if ($len & 0x80) {
        my $n = $len & 0x7f;
        $len = 0;
        $len = ($len << 8) | ord(substr $buf, $off + 2 + $_, 1) for 0 .. $n - 1;
        $hl += $n;
    }
    return ($tag, $off, $hl, $len);
}
sub children {
    my ($buf, $t) = @_;
    my ($p, @c) = ($t->[1] + $t->[2]);
    my $end = $p + $t->[3];
    while ($p < $end) { my @x = tlv($buf, $p); push @c, \@x; $p = $x[1] + $x[2] + $x[3] }
    return @c;
}
sub whole { my ($buf, $t) = @_; return substr($buf, $t->[1], $t->[2] + $t->[3]) }
sub tbs_fields {   # serial, subject, SubjectPublicKeyInfo of a certificate
    my $der = shift;
    my ($tbs) = children($der, [tlv($der, 0)]);
    my @f = children($der, $tbs);
    shift @f if $f[0][0] == 0xa0;   # [0] version
    return ($f[0], $f[4], $f[5]);
}
# hex SHA-256("secure-rev-v1" || issuer subject DER || issuer key bits || serial DER), as 35dd740 did
sub old_cache_id {
    my ($leaf_pem, $ca_pem) = @_;
    my $ca = der_file($ca_pem);
    my $leaf = der_file($leaf_pem);
    my (undef, $subject, $spki) = tbs_fields($ca);
    my (undef, $bits) = children($ca, $spki);
    my $key = substr($ca, $bits->[1] + $bits->[2] + 1, $bits->[3] - 1);   # without the unused-bits byte
    my ($serial) = tbs_fields($leaf);
    return Digest::SHA::sha256_hex('secure-rev-v1' . whole($ca, $subject) . $key . whole($leaf, $serial));
}

# ---- servers -------------------------------------------------------------------------------------

sub req {
    my ($name, $cert) = @_;
    return tls_request(port => $port{$name}, path => '/info', timeout => 15,
                       ssl => { client($cert),
                                SSL_version => 'TLSv1_2' });
}
sub counters {
    my $name = shift;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{"${name}s"}, Timeout => 10)
        or return {};
    print $s "GET /status?json HTTP/1.0\r\nHost: localhost\r\n\r\n";
    my ($buf, $sel, $deadline) = ('', IO::Select->new($s), Time::HiRes::time() + 10);
    while (Time::HiRes::time() < $deadline) {
        next unless $sel->can_read(0.5);
        my $n = sysread($s, $buf, 65536, length $buf);
        last unless $n;
    }
    my ($body) = $buf =~ /\r\n\r\n(.*)\z/s;
    my $c = eval { JSON::PP->new->decode($body // '') } || {};
    return ref $c->{counters} ? $c->{counters} : $c;
}
sub invalid { return counters($_[0])->{cache_invalid} // -1 }
sub log_count {
    my ($name, $re) = @_;
    open my $fh, '<', t_logs() . "/inst-$name/logs/error_log" or return 0;
    return scalar grep { /$re/ } <$fh>;
}

my $key1 = cache_key_file('k1');
my $key2 = cache_key_file('k2');
my $load = "LoadModule ssl_module \@MODDIR\@/mod_ssl.so\n"
         . "LoadModule socache_memcache_module \@MODDIR\@/mod_socache_memcache.so\n"
         . "LoadModule secure_module \@SECURE_SO\@\n";

# ---- 4. configuration: refused without a key, or with a key file that is not secret ---------------
{
    my $vhost = sub {
        my $body = shift;
        return "<VirtualHost 127.0.0.1:8443>\n    SSLEngine on\n"
             . "    SSLCertificateFile \"\@SSLCA\@/certs/server.crt\"\n"
             . "    SSLCertificateKeyFile \"\@SSLCA\@/keys/server.pem\"\n    SecureEngine on\n$body\n</VirtualHost>\n";
    };
    my $mc = "SecureRevocationCache memcache:127.0.0.1:$port{memcached}\n";
    my $ocsp = $vhost->("    SecureOCSP on");
    my ($rc, $out) = config_test($load . $mc . $ocsp);
    isnt($rc, 0, 'httpd -t refuses memcache + SecureOCSP without SecureRevocationCacheKey');
    like($out, qr/SEC11000: SecureRevocationCache memcache:127\.0\.0\.1:\d+: a network cache needs SecureRevocationCacheKey/,
         '... naming the cache and the missing directive');
    ($rc, $out) = config_test($load . $mc . $vhost->("    SecureCRLFetch on"));
    isnt($rc, 0, '... and memcache + SecureCRLFetch without a key');
    ($rc, $out) = start_fails($load . $mc . $ocsp);
    isnt($rc, 0, 'startup (httpd -k start) refuses it too');
    like($out, qr/SEC11000:/, '... with the same message');
    ($rc, $out) = config_test($load . $mc . "SecureRevocationCacheKey \"$key1\"\n" . $ocsp);
    is($rc, 0, "memcache + SecureOCSP with a good key passes httpd -t $out");
    ($rc, $out) = config_test($load . $ocsp);
    is($rc, 0, "the default shmcb cache needs no key (a key is generated at startup) $out");
    ($rc, $out) = config_test($load . $mc . $vhost->(''));
    is($rc, 0, "memcache without an online source (the cache is not used) needs no key $out");

    my $short = cache_key_file('short', ('x' x 16) . "\n");
    my $short31 = cache_key_file('short31', ('x' x 31) . "\n");
    my $ok32 = cache_key_file('ok32', ('x' x 32) . "\n");
    my %bad = (
        'world-readable' => [cache_key_file('world', undef, 0604), qr/is readable by everyone/],
        'group-readable' => [cache_key_file('group', undef, 0640), qr/is readable by its group/],
        'group-writable' => [cache_key_file('gwrite', undef, 0620), qr/is writable by its group/],
        'world-writable' => [cache_key_file('wwrite', undef, 0602), qr/is writable by everyone/],
        '16 bytes'       => [$short, qr/holds 17 bytes; use 32 to 4096 bytes/],
        '31 bytes and a newline' => [$short31, qr/holds only 31 bytes of key \(line ends not counted\); at least 32/],
        'a directory'    => [t_logs(), qr/is not a regular file/],
        'missing'        => [t_logs() . '/no-such-key', qr/cannot be read/],
    );
    for my $case (sort keys %bad) {
        my ($file, $why) = @{ $bad{$case} };
        ($rc, $out) = config_test($load . $mc . "SecureRevocationCacheKey \"$file\"\n" . $ocsp);
        isnt($rc, 0, "httpd -t refuses a key file: $case");
        like($out, qr/SecureRevocationCacheKey: '\Q$file\E' $why/, "... the message names the directive, the file and: $why");
    }
    ($rc, $out) = config_test($load . $mc . "SecureRevocationCacheKey \"$ok32\"\n" . $ocsp);
    is($rc, 0, "a key of exactly 32 bytes (and a newline) is accepted $out");
    ($rc, $out) = config_test($load . $mc . $vhost->("    SecureOCSP on\n    SecureRevocationCacheKey \"$key1\""));
    isnt($rc, 0, 'SecureRevocationCacheKey inside <VirtualHost> is refused (global)');
    like($out, qr/SecureRevocationCacheKey cannot occur within <VirtualHost> section/, '... saying so');
}

# ---- the servers ---------------------------------------------------------------------------------
start_memcached($port{memcached});
sub instance_conf {
    my ($name, $keyfile, $extra) = @_;
    # <IfDirective>: the same config also starts the module from before this fix (no such directive),
    # so that this test shows that the attacks below worked there
    return "SecureRevocationCache memcache:127.0.0.1:$port{memcached}\n"
         . "<IfDirective SecureRevocationCacheKey>\n    SecureRevocationCacheKey \"$keyfile\"\n</IfDirective>\n"
         . instance_vhost($port{$name}, cert_file('ca'), "    SecureOCSP on\n    SecureOCSPResponder \""
                          . responder_url('asf', 'good', $tag) . "\"\n" . ($extra // ''))
         . "<VirtualHost 127.0.0.1:$port{\"${name}s\"}>\n    <Location /status>\n"
         . "        SetHandler secure-status\n    </Location>\n</VirtualHost>\n";
}
start_instance(name => 'c', ports => [@port{qw(c cs)}], conf => instance_conf('c', $key1));
start_instance(name => 'd', ports => [@port{qw(d ds)}], conf => instance_conf('d', $key1));
start_instance(name => 'e', ports => [@port{qw(e es)}], conf => instance_conf('e', $key2));
start_instance(name => 'f', ports => [@port{qw(f fs)}],
               conf => instance_conf('f', $key1, "    SecureOCSPMaxAge 3600\n"));

# ---- 1. a forged record in the old format, under the old key ---------------------------------------
my $old_id = old_cache_id(cert_file('client_revoked'), cert_file('ca'));
my $forged_key = $mc_ns . unpack('H*', $old_id);
{
    my $before = query_count($tag);
    ok(mc_set($forged_key, 'v1 G ocsp -1 0 ' . (time + 3000)), 'forged GOOD record for client_revoked stored in memcached');
    my $r = req('f', 'client_revoked');   # f: so that c's own REVOKED record below is a new entry
    like($r->{error} // "admitted: status $r->{status}", qr/certificate revoked/i,
         'forged GOOD record in memcached: client_revoked is still refused (alert 44)');
    is(query_count($tag), $before + 1, '... the responder was asked');
    ok(mc_delete($forged_key), 'forged record removed (so that the next steps stand on their own)');
}

# ---- 5 + 2. c and d share verdicts; a record moved to another certificate's entry is refused -------
my ($k_ok, $k_rev);
{
    my $keys = mc_keys();
    my $before = query_count($tag);
    my $v = info_json(req('c', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'fleet: c asks the responder about client_ok: GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', '... from OCSP');
    is(query_count($tag), $before + 1, '... one query');
    $k_ok = new_key($keys);
    like($k_ok // '', qr/^\Q$mc_ns\E[0-9a-f]{128}$/, "... and stored one record in memcached ($mc_ns + hex id)");
    $v = info_json(req('d', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'fleet: d (same key) answers client_ok GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'cache', "... from c's record");
    is(query_count($tag), $before + 1, '... without a responder query');

    $keys = mc_keys();
    my $r = req('c', 'client_revoked');
    like($r->{error} // '', qr/certificate revoked/i, 'c refuses client_revoked (alert 44)');
    $k_rev = new_key($keys);
    ok(defined $k_rev, '... and stores its REVOKED record');
}
SKIP: {
    skip 'no record keys found in memcached', 5 unless defined $k_ok && defined $k_rev;
    my $good = mc_get($k_ok);
    ok(defined $good && mc_set($k_rev, $good), "c's GOOD record for client_ok copied onto client_revoked's entry");
    my ($before, $inv) = (query_count($tag), invalid('d'));
    my $r = req('d', 'client_revoked');
    like($r->{error} // "admitted: status $r->{status}", qr/certificate revoked/i,
         'swapped record: d still refuses client_revoked');
    is(query_count($tag), $before + 1, '... after asking the responder');
    is(invalid('d'), $inv + 1, '... and counts the record (cache_invalid + 1)');
    is(log_count('d', qr/SEC11003: .*ignored the record for the certificate with serial .*its MAC does not match/), 1,
       '... and logs it (SEC11003, MAC)');
}

# ---- 3. tampered records: ignored, counted, logged at most once per 10 s ---------------------------
SKIP: {
    skip 'no record key found in memcached', 12 unless defined $k_ok;
    # the log line above opened d's 10-second window; wait it out so that the next one is written
    Time::HiRes::sleep(10.5);
    my $good = mc_get($k_ok) // '';
    is(length $good, 52, 'a record is 52 bytes (version, fields, HMAC-SHA256)');
    my $bad = $good;
    substr($bad, 19, 1) = chr(ord(substr($bad, 19, 1)) ^ 0x01);   # expires, lowest bit
    ok(mc_set($k_ok, $bad), 'one bit of the expiry changed in memcached');
    my ($before, $inv, $t0) = (query_count($tag), invalid('d'), Time::HiRes::time());
    my $v = info_json(req('d', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'tampered record: client_ok still GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', '... from the responder, not from the record');
    is(query_count($tag), $before + 1, '... one query');
    is(invalid('d'), $inv + 1, '... counted (cache_invalid + 1)');
    is(log_count('d', qr/SEC11003: .*its MAC does not match/), 2, '... logged (SEC11003)');
    $v = info_json(req('d', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'cache', "d's fresh record is used on the next handshake");

    # more bad records at once: counted every time, but no second line within 10 s
    ok(mc_set($k_ok, $bad) && defined $k_rev && mc_set($k_rev, 'v1 G ocsp -1 0 ' . (time + 3000)),
       'bad records again (tampered, old format)');
    req('d', 'client_ok');
    my $r = req('d', 'client_revoked');
    like($r->{error} // "admitted: status $r->{status}", qr/certificate revoked/i, 'old-format GOOD on the new key: refused');
    is(invalid('d'), $inv + 3, 'both counted (cache_invalid + 2)');
    my $spent = Time::HiRes::time() - $t0;
    SKIP: {
        skip sprintf('the steps took %.1f s, past the 10 s log window', $spent), 1 if $spent > 9;
        is(log_count('d', qr/SEC11003:/), 2, 'rate limit: no new SEC11003 line within 10 s');
    }
}

# ---- 5. another key, a stricter vhost ------------------------------------------------------------
{
    # memcached holds d's fresh record for client_ok, made with K1
    my ($before, $inv_e, $inv_f) = (query_count($tag), invalid('e'), invalid('f'));
    my $v = info_json(req('e', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', 'e (another SecureRevocationCacheKey) does not believe the record');
    is(invalid('e'), $inv_e + 1, '... it counts it as invalid');
    is(query_count($tag), $before + 1, '... and asks the responder');
    $v = info_json(req('f', 'client_ok'));
    is($v->{SECURE_CLIENT_REVOCATION}, 'GOOD', 'f (SecureOCSPMaxAge 3600): client_ok GOOD');
    is($v->{SECURE_CLIENT_REVOCATION_SOURCE}, 'ocsp', "... from its own query: a laxer vhost's verdict is not reused");
    is(query_count($tag), $before + 2, '... one query');
    is(invalid('f'), $inv_f, '... and no invalid record: f looks under another key (its trust context)');
}
stop_all();
