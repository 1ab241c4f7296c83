#!/usr/bin/perl
# bench/soak/driver.pl — the soak's running part (bench/soak.sh prepares DIR and calls it, then report.pl).
# It starts and owns every process of the soak: the OCSP responder, memcached, redis and httpd (the sanitized
# module, ASan runtime preloaded, in the foreground so its death is seen at once). Then, until the end time:
#   load     W client-certificate workers (HTTP/1.1 over IO::Socket::SSL, TLS 1.2 / 1.3, some resumed; HTTP/2 over
#            curl --http2) picking a certificate class and a vhost at random, and one h2load worker (no client
#            certificate, HTTP/1.1 and HTTP/2 batches); every request is recorded in DIR/data/req-*.tsv;
#   faults   the CRL file and the deny list rewritten every few seconds (valid, expired, forged, corrupt,
#            garbage, truncated, empty, written in place in two halves), a graceful restart every ~20 s (every
#            other one while the CRL file on disk is bad, the rest at random), the cache provider switched
#            between memcache and redis at each restart, memcached and redis killed and restarted, the OCSP
#            responder flapping (down, hang, garbage, err500, slow); every fault in DIR/data/events.tsv;
#   samples  VmRSS, private memory and open descriptors of the httpd parent and each child every 3 s
#            (DIR/data/samples.tsv: time, role, pid, generation, VmRSS kB, fds, sockets, age s, private kB).
# Every loop is bounded by the end time; every request by a 15 s deadline.
use strict;
use warnings;
use Getopt::Long;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use IO::Socket::SSL;
use IO::Select;
use List::Util ();

my %o = (duration => 600, port => 9100, workers => 2, httpd => '/usr/sbin/apache2', asan => '', user => '');
GetOptions(\%o, 'dir=s', 'duration=i', 'port=i', 'seed=i', 'workers=i', 'httpd=s', 'asan=s', 'user=s')
    or die "driver.pl: bad options\n";
my $D = $o{dir} or die "driver.pl: --dir is required\n";
$o{seed} //= int(time) % 1000000;
srand $o{seed};
my %port = (allow => $o{port} + 1, deny => $o{port} + 2, ocsp => $o{port} + 3, memcached => $o{port} + 4,
            redis => $o{port} + 5);
my $MAIN = $$;
my $T0 = time;
my $TEND = $T0 + $o{duration};
my $stop = 0;
$SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
$SIG{PIPE} = 'IGNORE';

# Timing of the server under test, read from the config bench/soak.sh wrote (one source of truth); report.pl
# reads them back from params.tsv to judge "healthy".
my %param;
{
    my %dir = (crl_interval => 'SecureCRLCheckInterval', ocsp_timeout => 'SecureOCSPTimeout',
               ocsp_failures => 'SecureOCSPFailures', ocsp_retry => 'SecureOCSPRetry',
               unknown_ttl => 'SecureRevocationUnknownTTL');
    open my $c, '<', "$D/conf/httpd.conf" or die "driver.pl: $D/conf/httpd.conf: $!\n";
    my $conf = do { local $/; <$c> };
    close $c;
    for my $k (keys %dir) {
        ($param{$k}) = $conf =~ /^\s*$dir{$k}\s+(\d+)\s*$/m
            or die "driver.pl: $dir{$k} (plain seconds) is missing from httpd.conf\n";
    }
}
$param{crl_window} = 2 * $param{crl_interval} + 1;    # a CRL change is in force in every child by then
$param{ocsp_window} = $param{ocsp_retry} + $param{unknown_ttl} + $param{ocsp_timeout} + 4;

my ($uid, $gid);
if ($< == 0) {
    ($uid, $gid) = (getpwnam($o{user} || 'securetest'))[2, 3];
    die "driver.pl: no user $o{user}\n" unless defined $uid;
}

open my $EV, '>>', "$D/data/events.tsv" or die "events.tsv: $!";
$EV->autoflush(1);
sub event { printf $EV "%.3f\t%s\n", time, join("\t", @_); }

# ---------------------------------------------------------------- processes we start (and only those)
my %daemon;          # name -> pid
sub spawn {
    my ($name, $log, $drop, $env, @cmd) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setsid();       # a Ctrl-C at the terminal reaches the driver, which stops the daemons in order
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log;
        open STDERR, '>&', \*STDOUT;
        if ($drop && defined $uid) {
            $) = "$gid $gid";
            $( = $gid;
            POSIX::setgid($gid);
            POSIX::setuid($uid) or POSIX::_exit(126);
        }
        @ENV{keys %$env} = values %$env;
        exec @cmd or POSIX::_exit(127);
    }
    $daemon{$name} = $pid;
    open my $p, '>>', "$D/run/pids";
    print $p "$pid $name\n";
    close $p;
    return $pid;
}

sub stop_daemon {
    my ($name, $sig, $wait) = @_;
    my $pid = delete $daemon{$name} or return;
    kill $sig, $pid;
    my $until = time + $wait;
    while (time < $until) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub start_ocsp {
    spawn('ocsp', "$D/logs/ocsp.out", 1, {}, $^X, "$D/bin/ocsp-responder.pl", $port{ocsp}, "$D/run/ocsp-mode",
          "$D/pki", "$D/logs/ocsp.log");
}
sub start_memcached {
    spawn('memcached', "$D/logs/memcached.out", 1, {}, 'memcached', '-l', '127.0.0.1', '-p', $port{memcached},
          '-U', '0', '-m', '16', '-c', '256');
}
sub start_redis {
    spawn('redis', "$D/logs/redis.out", 1, {}, 'redis-server', '--bind', '127.0.0.1', '--port', $port{redis},
          '--save', '', '--appendonly', 'no', '--dir', "$D/run", '--protected-mode', 'yes');
}
my $httpd_starts = 0;
sub start_httpd {
    $httpd_starts++;
    # ASan keeps freed memory in a quarantine (256 MB by default) to catch use-after-free; every graceful restart
    # frees a whole configuration, so with a big quarantine the parent grows for the first restarts (measured:
    # +17 MB over 8 restarts with 16 MB, +2 MB over 12 with 4 MB), and its children inherit that: 4 MB keeps the
    # RSS comparison about mod_secure and still catches a use of memory freed within the last few requests.
    my %env = (ASAN_OPTIONS => "detect_leaks=0:log_path=$D/sanitizer/asan:abort_on_error=0:quarantine_size_mb=4",
               UBSAN_OPTIONS => "print_stacktrace=1:log_path=$D/sanitizer/ubsan");
    $env{LD_PRELOAD} = $o{asan} if $o{asan};
    spawn('httpd', "$D/logs/httpd.out", 0, \%env, $o{httpd}, '-f', "$D/conf/httpd.conf", '-DFOREGROUND');
    event('httpd-start', $httpd_starts);
    my $until = time + 30;
    while (time < $until) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port{deny}, Timeout => 1);
        if ($s) { close $s; return 1; }
        return 0 if waitpid($daemon{httpd}, WNOHANG) == $daemon{httpd};
        sleep 0.2;
    }
    return 0;
}

sub httpd_alive {
    my $pid = $daemon{httpd} or return 0;
    return 1 if waitpid($pid, WNOHANG) == 0;
    my $st = $?;
    delete $daemon{httpd};
    event('httpd-died', "status=$st");
    return 0;
}

# ---------------------------------------------------------------- file faults
sub slurp { my $f = shift; open my $h, '<', $f or die "$f: $!"; binmode $h; local $/; my $d = <$h>; close $h; $d }
sub put_atomic {        # the way a careful operator (or a deploy tool) installs a file: write aside, rename
    my ($path, $data) = @_;
    (my $dir = $path) =~ s{/[^/]*$}{};
    my $tmp = "$dir/.soak-tmp";
    open my $h, '>', $tmp or die "$tmp: $!";
    binmode $h;
    print $h $data;
    close $h;
    chmod 0644, $tmp;
    rename $tmp, $path or die "rename $path: $!";
}
sub randbytes { join '', map { chr int rand 256 } 1 .. shift }
sub pick {      # weighted choice: pick(name => weight, ...)
    my %w = @_;
    my $sum = 0;
    $sum += $_ for values %w;
    my $r = rand $sum;
    for my $k (sort keys %w) { return $k if ($r -= $w{$k}) < 0; }
    return (sort keys %w)[0];
}

my $CRL = "$D/crl/ica-crl.crl";
my %crl_src = map { $_ => slurp("$D/pki/crl-variants/$_") } qw(small.pem small.der big.pem big.der alt.pem
                                                                 expired.pem forged.pem);
my @crl_fresh = qw(small.pem small.der big.pem big.der alt.pem);
my $crl_inplace;       # [fh, rest, variant] while an in-place write is half done
my $crl_raw = 'valid:small.pem';

# write_crl(KIND): KIND valid|expired|forged|corrupt|garbage|truncated|empty|inplace. Logs "crl KIND VARIANT
# FILE-STATE" where FILE-STATE is fresh / expired (a CRL that verifies: it replaces what is in force) or bad
# (must be refused: what was in force stays).
sub write_crl {
    my ($kind) = @_;
    my $v = $crl_fresh[rand @crl_fresh];
    my $state = 'bad';
    if ($kind eq 'valid') { put_atomic($CRL, $crl_src{$v}); $state = 'fresh'; }
    elsif ($kind eq 'expired') { $v = 'expired.pem'; put_atomic($CRL, $crl_src{$v}); $state = 'expired'; }
    elsif ($kind eq 'forged') { $v = 'forged.pem'; put_atomic($CRL, $crl_src{$v}); }
    elsif ($kind eq 'corrupt') {
        $v = (qw(small.der big.der))[rand 2];
        my $d = $crl_src{$v};
        my $half = int(length($d) / 2);
        substr($d, $half + int rand($half - 8), 8) = randbytes(8) for 1 .. 4;
        put_atomic($CRL, $d);
    }
    elsif ($kind eq 'garbage') { $v = '-'; put_atomic($CRL, randbytes(1024 + int rand 3072)); }
    elsif ($kind eq 'truncated') {
        my $d = $crl_src{$v};
        put_atomic($CRL, substr($d, 0, int(length($d) * (0.3 + rand 0.5))));
    }
    elsif ($kind eq 'empty') { $v = '-'; put_atomic($CRL, ''); }
    elsif ($kind eq 'inplace') {     # an operator's `cp new.crl ica-crl.crl`: same inode, half there for 1.5 s
        my $d = $crl_src{$v};
        my $cut = int(length($d) / 2);
        my $h;
        open($h, '+<', $CRL) or open($h, '>', $CRL) or die "$CRL: $!";
        binmode $h;
        truncate $h, 0;
        seek $h, 0, 0;
        syswrite $h, substr($d, 0, $cut);
        $crl_inplace = [$h, substr($d, $cut), $v];
    }
    $crl_raw = "$kind:$v";
    event('crl', $kind, $v, $state);
}
sub finish_crl_inplace {
    my ($h, $rest, $v) = @{$crl_inplace};
    syswrite $h, $rest;
    close $h;
    undef $crl_inplace;
    $crl_raw = "valid:$v";
    event('crl', 'inplace-done', $v, 'fresh');
}

my $DENY = "$D/deny/deny.txt";
my %deny = map { $_ => do { my $x = slurp("$D/pki/deny/$_"); chomp $x; $x } }
               qw(sha256 sha256-colons serial issuer-rfc2253 issuer-oneline issuer-hash);
sub hexs { join '', map { sprintf '%02x', int rand 256 } 1 .. shift }
# write_deny(): a new deny list that lists denied.crt in one of its documented forms, with filler entries and,
# in some variants, bad lines (which must be skipped with the rest kept in force). denied.crt's own line is never
# damaged: a list that does not name it legitimately admits it.
sub write_deny {
    my $kind = pick(sha => 2, colons => 1, 'serial-dn' => 1, 'serial-oneline' => 1, 'serial-hash' => 1,
                    junk => 2, truncated => 2, crlf => 1);
    my %entry = (sha => "sha256 $deny{sha256}", colons => "sha256 $deny{'sha256-colons'}",
                 'serial-dn' => "serial $deny{serial} $deny{'issuer-rfc2253'}",
                 'serial-oneline' => "serial $deny{serial} issuer=$deny{'issuer-oneline'}",
                 'serial-hash' => "serial $deny{serial} $deny{'issuer-hash'}");
    my @forms = sort keys %entry;
    my $e = $entry{$kind} // $entry{$forms[rand @forms]};
    my @fill = map { rand() < 0.7 ? 'sha256 ' . hexs(32) : 'serial ' . hexs(8) . ' CN=filler,O=elsewhere' }
                   1 .. 10 + int rand 190;
    my @lines = ("# soak deny list, variant $kind", @fill[0 .. $#fill / 2], $e, @fill[$#fill / 2 + 1 .. $#fill]);
    my $text;
    if ($kind eq 'junk') {
        splice @lines, 1 + int rand(@lines - 1), 0, $_
            for ('sha256 zz', 'serial', "bin\x00ary\x01\xff\xfe junk", 'x' x 5000, 'serial 01 CN=a#b,O=c',
                 'sha256 ' . hexs(31), "   \t  ", 'deny everything');
        $text = join("\n", @lines) . "\n";
    }
    elsif ($kind eq 'truncated') {    # cut in the middle of its last line, no final newline
        $text = join("\n", '# truncated', $e, @fill) . "\n";
        $text .= 'sha256 ' . substr(hexs(32), 0, 10 + int rand 40);
    }
    elsif ($kind eq 'crlf') { $text = join("\r\n", @lines) . "\r\n"; }
    else { $text = join("\n", @lines) . "\n"; }
    put_atomic($DENY, $text);
    event('deny', $kind);
}

sub write_cache_conf {
    my ($which) = @_;
    my $line = $which eq 'redis' ? "SecureRevocationCache redis:127.0.0.1:$port{redis}"
                                 : "SecureRevocationCache memcache:127.0.0.1:$port{memcached}";
    put_atomic("$D/conf/cache.conf", "$line\n");
}

sub set_ocsp_mode {
    my ($m) = @_;
    put_atomic("$D/run/ocsp-mode", "$m\n");
    event('ocsp', $m);
}

# ---------------------------------------------------------------- samples
my %first_seen;
my $graceful_n = 0;
sub proc_facts {
    my ($pid) = @_;
    open my $s, '<', "/proc/$pid/status" or return;
    my ($rss) = map { /^VmRSS:\s+(\d+)/ ? $1 : () } <$s>;
    close $s;
    opendir my $d, "/proc/$pid/fd" or return;
    my ($fds, $socks) = (0, 0);
    for my $f (readdir $d) {
        next if $f =~ /^\./;
        $fds++;
        my $l = readlink "/proc/$pid/fd/$f";
        $socks++ if defined $l && $l =~ /^socket:/;
    }
    closedir $d;
    my $uss = 0;      # private pages only: what the process itself holds, not what it shares with its parent
    if (open my $r, '<', "/proc/$pid/smaps_rollup") {
        while (<$r>) { $uss += $1 if /^Private_(?:Clean|Dirty):\s+(\d+)/; }
        close $r;
    }
    return ($rss // 0, $fds, $socks, $uss);
}
sub sample {
    my $parent = $daemon{httpd} or return;
    open my $out, '>>', "$D/data/samples.tsv" or return;
    my $now = time;
    opendir my $pd, '/proc' or return;
    for my $pid (grep { /^\d+$/ } readdir $pd) {
        open my $st, '<', "/proc/$pid/stat" or next;
        my $l = <$st>;
        close $st;
        next unless defined $l && $l =~ /\)\s+\S+\s+(\d+)/ && $1 == $parent;
        $first_seen{$pid} //= [$now, $graceful_n];
        my @f = proc_facts($pid) or next;
        printf $out "%.3f\tchild\t%d\t%d\t%d\t%d\t%d\t%.1f\t%d\n", $now, $pid, $first_seen{$pid}[1], @f[0 .. 2],
            $now - $first_seen{$pid}[0], $f[3];
    }
    closedir $pd;
    my @f = proc_facts($parent);
    printf $out "%.3f\tparent\t%d\t%d\t%d\t%d\t%d\t0\t%d\n", $now, $parent, $graceful_n, @f if @f;
    close $out;
}

# ---------------------------------------------------------------- load
# certificate/vhost -> weight: the combinations that can show a bypass are asked most often (the classes are
# described in bench/soak/pki.sh)
my %MIX = ('revoked/allow' => 4, 'revoked/deny' => 2, 'denied/allow' => 3, 'denied/deny' => 2,
           'good/deny' => 4, 'good/allow' => 2, 'unknown/deny' => 2, 'unknown/allow' => 1,
           'ocspgood/deny' => 2, 'ocspgood/allow' => 1, 'ocsprevoked/deny' => 2, 'ocsprevoked/allow' => 2,
           'none/allow' => 1, 'none/deny' => 1);

sub classify_error {  # -> (alert, NAME) | (closed, how) | (error, what)
    my ($msg) = @_;
    $msg //= '';
    return ('alert', lc $1) if $msg =~ /alert ([a-z][a-z _]*[a-z])/i;
    # the server ended the connection without an HTTP answer: over TLS 1.3 this is how a refused client
    # certificate often looks to a client still writing (the alert is lost in the reset)
    return ('closed', $1 ? 'reset' : 'eof')
        if $msg =~ /(reset by peer|broken pipe|getpeername)|closed without a response|unexpected eof/i;
    return ('error', 'timeout') if $msg =~ /time(d)? ?out/i;
    return ('error', 'connect refused') if $msg =~ /refused/i;
    (my $m = $msg) =~ s/\s+/ /g;
    return ('error', substr($m, 0, 80) || 'unknown');
}


my %client_ctx;       # "class/tls" -> a client context whose session cache lets later connections resume
sub ssl_errors {      # OpenSSL's error queue: where a TLS 1.3 alert after the handshake is found at EOF
    my @e;
    while (my $e = Net::SSLeay::ERR_get_error()) { push @e, Net::SSLeay::ERR_error_string($e); }
    return join ' ', @e;
}
# One request; both clients answer with a hash: result (ok = 200, status = another HTTP status, alert, closed,
# error), status, detail (alert name, how it closed, what failed), resumed, verdict and source (from /info).
sub answer {
    my (%r) = @_;
    return { result => 'error', status => 0, detail => '-', resumed => 0, verdict => '-', source => '-', %r };
}
sub answer_http {
    my ($code, $body, $resumed) = @_;
    my ($v) = $body =~ /"SECURE_CLIENT_REVOCATION":\s*"([^"]*)"/;
    my ($src) = $body =~ /"SECURE_CLIENT_REVOCATION_SOURCE":\s*"([^"]*)"/;
    return answer(result => $code == 200 ? 'ok' : 'status', status => $code, resumed => $resumed,
                  verdict => $v // '-', source => $src // '-');
}
sub answer_failed {
    my ($msg, $resumed) = @_;
    my ($result, $detail) = classify_error($msg);
    return answer(result => $result, detail => $detail, resumed => $resumed // 0);
}

sub request_h1 {      # IO::Socket::SSL, HTTP/1.1, TLS 1.2 or 1.3, a new session or a resumed one
    my ($class, $vhost, $tls, $resume) = @_;
    my %a = (PeerHost => '127.0.0.1', PeerPort => $port{$vhost}, Timeout => 10,
             SSL_ca_file => "$D/pki/root.crt", SSL_hostname => 'localhost', SSL_verifycn_name => 'localhost',
             SSL_verifycn_scheme => 'http', SSL_verify_mode => SSL_VERIFY_PEER,
             SSL_version => $tls eq '1.2' ? 'TLSv1_2' : 'TLSv1_3');
    if ($class ne 'none') { $a{SSL_cert_file} = "$D/pki/$class.crt"; $a{SSL_key_file} = "$D/pki/$class.key"; }
    if ($resume) {    # a shared context carries the session (IO::Socket::SSL keys it by host:port)
        $client_ctx{"$class/$tls"} //= IO::Socket::SSL::SSL_Context->new(
            (map { $_ => $a{$_} } grep { /^SSL_(cert|key|ca)_file$|^SSL_version$|^SSL_verify_mode$/ } keys %a),
            SSL_session_cache_size => 16);
        $a{SSL_reuse_ctx} = $client_ctx{"$class/$tls"} if $client_ctx{"$class/$tls"};
    }
    Net::SSLeay::ERR_clear_error();
    my $s = IO::Socket::SSL->new(%a);
    return answer_failed(join ' ', $SSL_ERROR // '', "$!", ssl_errors()) unless $s;
    my $reused = $s->get_session_reused ? 1 : 0;
    unless (defined syswrite($s, "GET /info HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")) {
        my $e = join ' ', $SSL_ERROR // '', "$!", ssl_errors();
        close $s;
        return answer_failed($e, $reused);
    }
    my ($buf, $err, $deadline) = ('', undef, time + 15);
    my $sel = IO::Select->new($s);
    while (time < $deadline) {
        if (!$s->pending && !$sel->can_read($deadline - time)) { $err = 'read timed out'; last; }
        my $r = sysread $s, $buf, 16384, length $buf;
        next if !defined $r && $!{EAGAIN};
        if (!defined $r) { $err = join ' ', $SSL_ERROR // '', "$!", ssl_errors(); last; }
        if ($r == 0) { my $q = ssl_errors(); $err = "closed without a response $q" if $q; last; }
    }
    close $s;
    return answer_http($1, $buf, $reused) if $buf =~ m{^HTTP/1\.[01] (\d{3})};
    return answer_failed($err // 'closed without a response', $reused);
}

sub request_h2 {      # curl --http2 (a new TLS 1.3 session each time)
    my ($class, $vhost) = @_;
    my @cmd = ('curl', '-sS', '--http2', '--max-time', '15', '--cacert', "$D/pki/root.crt", '--resolve',
               "localhost:$port{$vhost}:127.0.0.1", '-w', '\nSOAK %{http_code} %{http_version}\n');
    push @cmd, '--cert', "$D/pki/$class.crt", '--key', "$D/pki/$class.key" if $class ne 'none';
    push @cmd, "https://localhost:$port{$vhost}/info";
    my $pid = open my $fh, '-|';
    return answer(detail => 'fork failed') unless defined $pid;
    if ($pid == 0) { open STDERR, '>&', \*STDOUT; exec @cmd or POSIX::_exit(127); }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my ($code, $ver) = $out =~ /SOAK (\d{3}) (\S+)/;
    if (defined $code && $code ne '000') {
        return answer(detail => "not h2 ($ver)") if $ver ne '2';
        return answer_http($code, $out, 0);
    }
    my ($curl_err) = $out =~ /curl: \(\d+\) ([^\n]*)/;
    return answer_failed($curl_err // "curl exit $?");
}

sub cert_worker {
    my ($w) = @_;
    srand $o{seed} + 7919 * $w;     # each worker its own sequence (fork copies the parent's)
    open my $out, '>>', "$D/data/req-$w.tsv" or die;
    $out->autoflush(1);
    my @combos = sort keys %MIX;
    while (!$stop && time < $TEND) {
        my ($class, $vhost) = split m{/}, pick(map { $_ => $MIX{$_} } @combos);
        my $r = rand;
        my ($proto, $tls, $resume) = $r < 0.3 ? ('h2', '1.3', 0) : ('h1', rand() < 0.35 ? '1.2' : '1.3', rand() < 0.4);
        my $t0 = time;
        my $ans = $proto eq 'h2' ? request_h2($class, $vhost) : request_h1($class, $vhost, $tls, $resume);
        my $t1 = time;
        # t0 t1 worker proto tls class vhost result status detail resumed verdict source (report.pl reads this)
        printf $out "%.3f\t%.3f\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", $t0, $t1, $w, $proto,
            $proto eq 'h2' ? '1.3' : $tls, $class, $vhost, @$ans{qw(result status detail resumed verdict source)};
        sleep 0.12 + rand 0.12;
    }
    close $out;
}

sub h2load_worker {
    srand $o{seed} + 104729;
    open my $out, '>>', "$D/data/h2load.tsv" or die;
    $out->autoflush(1);
    my $i = 0;
    while (!$stop && time < $TEND) {
        my $h1 = $i % 2;
        my $vhost = ($i >> 1) % 2 ? 'deny' : 'allow';
        $i++;
        my @cmd = ('timeout', '40', 'h2load', '-n', '40', '-c', '2', '-m', '4', '-T', '15', '-N', '15');
        push @cmd, '--h1' if $h1;
        push @cmd, "https://127.0.0.1:$port{$vhost}/index.html";
        my $t0 = time;
        my $pid = open my $fh, '-|';
        die unless defined $pid;
        if ($pid == 0) { open STDERR, '>&', \*STDOUT; exec @cmd or POSIX::_exit(127); }
        local $/;
        my $txt = <$fh> // '';
        close $fh;
        my $rc = $? >> 8;
        my $t1 = time;
        my ($total, $ok, $failed, $errored, $timeout) =
            $txt =~ /requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+)/
            ? ($1, $2, $3, $4, $5) : (40, 0, 40, 0, 0);
        my ($s2, $s3, $s4, $s5) = $txt =~ /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/
            ? ($1, $2, $3, $4) : (0, 0, 0, 0);
        printf $out "%.3f\t%.3f\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", $t0, $t1, $h1 ? 'h1' : 'h2', $vhost,
            $total, $s2, $s4, $s5, $failed, $errored, $timeout, $rc;
        sleep 1.5;
    }
    close $out;
}

my %worker;     # pid -> name
sub fork_worker {
    my ($name, $code) = @_;
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        %daemon = ();
        $SIG{TERM} = $SIG{INT} = sub { $stop = 1 };
        eval { POSIX::nice(5) };
        $code->();
        POSIX::_exit(0);
    }
    $worker{$pid} = $name;
    open my $p, '>>', "$D/run/pids";
    print $p "$pid worker-$name\n";
    close $p;
}

# ---------------------------------------------------------------- the run
sub cleanup {
    return unless $$ == $MAIN;
    kill 'TERM', keys %worker;
    my $until = time + 20;
    while (%worker && time < $until) {
        my $p = waitpid(-1, WNOHANG);
        if ($p > 0) { delete $worker{$p}; delete $daemon{$_} for grep { $daemon{$_} == $p } keys %daemon; next; }
        sleep 0.1;
    }
    kill 'KILL', keys %worker;
    waitpid($_, 0) for keys %worker;
    %worker = ();
    stop_daemon('httpd', 'TERM', 20);
    stop_daemon($_, 'TERM', 5) for qw(ocsp memcached redis);
}

open my $PF, '>', "$D/data/params.tsv" or die;
print $PF "$_\t$param{$_}\n" for sort keys %param;
printf $PF "start\t%.3f\nend\t%.3f\nseed\t%d\nduration\t%d\nworkers\t%d\n", $T0, $TEND, $o{seed}, $o{duration},
    $o{workers};
close $PF;

set_ocsp_mode('good');
write_crl('valid');
write_deny();
write_cache_conf('memcache');
event('cache', 'memcache');
start_ocsp();
start_memcached();
start_redis();
sleep 0.5;
unless (start_httpd()) {
    print STDERR "driver.pl: httpd did not start; see $D/logs/error_log and $D/logs/httpd.out\n";
    cleanup();
    exit 2;
}
event('start', $o{seed});

for my $w (1 .. $o{workers}) { fork_worker("c$w", sub { cert_worker($w) }); }
fork_worker('h2load', \&h2load_worker);

my $now = time;
my %next = (crl => $now + 3, deny => $now + 5, graceful => $now + 15, mc_kill => $now + 25,
            redis_kill => $now + 37, ocsp => $now + 20, sample => $now + 1);
my ($mc_down, $redis_down, $graceful_pending, $crl_hold_until, $httpd_check) = (0, 0, 0, 0, 0);
my $cache = 'memcache';
my @ocsp_faults;
my $ocsp_mode = 'good';

while (!$stop && time < $TEND) {
    $now = time;
    # a daemon that died on its own is an event too (the server's own children are sampled, not reaped here)
    while ((my $p = waitpid(-1, WNOHANG)) > 0) {
        if (my ($n) = grep { $daemon{$_} == $p } keys %daemon) {
            delete $daemon{$n};
            event("$n-died", "status=$?");
            if ($n eq 'httpd' && !$stop) {
                start_httpd() or event('httpd-start-failed');
            }
            elsif ($n eq 'ocsp' && !$stop) { start_ocsp(); }
        }
        delete $worker{$p};
    }
    if ($crl_inplace && $now >= $crl_inplace->[3]) { finish_crl_inplace(); }
    if ($now >= $next{sample}) { sample(); $next{sample} = $now + 3; }

    if ($graceful_pending && $now >= $graceful_pending) {
        $graceful_pending = 0;
        $graceful_n++;
        $cache = $cache eq 'memcache' ? 'redis' : 'memcache';
        write_cache_conf($cache);
        event('graceful', $graceful_n, $crl_raw, $cache);
        kill 'USR1', $daemon{httpd} if $daemon{httpd};
        $httpd_check = $now + 5;
    }
    if ($httpd_check && $now >= $httpd_check) {
        $httpd_check = 0;
        unless (httpd_alive() || $stop) { start_httpd() or event('httpd-start-failed'); }
    }
    if ($now >= $next{graceful}) {
        # every other restart happens while the CRL file on disk is bad (finding 10's moment); the others
        # wherever the CRL rotation happens to be
        if ($graceful_n % 2 == 0 && !$crl_inplace) {
            write_crl(pick(corrupt => 1, truncated => 1, empty => 1, garbage => 1, forged => 1));
            $crl_hold_until = $now + 1 + 7;
            $next{crl} = $crl_hold_until;
            event('crl-hold', 'bad during the next graceful restart');
        }
        $graceful_pending = $now + 1;
        $next{graceful} = $now + 17 + rand 6;
    }
    if ($now >= $next{crl} && !$crl_inplace && !$graceful_pending) {
        my $kind = pick(valid => 40, expired => 8, forged => 6, corrupt => 10, garbage => 6, truncated => 12,
                        empty => 6, inplace => 12);
        # after a hold, come back to a valid file so that "healthy" periods exist
        $kind = 'valid' if $crl_hold_until && $now >= $crl_hold_until && $now < $crl_hold_until + 1;
        write_crl($kind);
        push @{$crl_inplace}, $now + 1.5 if $crl_inplace;
        $next{crl} = $now + 3 + rand 2;
    }
    if ($now >= $next{deny}) { write_deny(); $next{deny} = $now + 4 + rand 2; }
    if ($now >= $next{mc_kill}) {
        if ($mc_down) {
            start_memcached();
            event('memcached-start');
            ($mc_down, $next{mc_kill}) = (0, $now + 25 + rand 10);
        }
        else {
            stop_daemon('memcached', 'KILL', 2);
            event('memcached-kill');
            ($mc_down, $next{mc_kill}) = (1, $now + 3 + rand 3);
        }
    }
    if ($now >= $next{redis_kill}) {
        if ($redis_down) {
            start_redis();
            event('redis-start');
            ($redis_down, $next{redis_kill}) = (0, $now + 25 + rand 10);
        }
        else {
            stop_daemon('redis', 'KILL', 2);
            event('redis-kill');
            ($redis_down, $next{redis_kill}) = (1, $now + 3 + rand 3);
        }
    }
    if ($now >= $next{ocsp}) {
        if ($ocsp_mode eq 'good') {
            @ocsp_faults = List::Util::shuffle(qw(down hang garbage slow err500)) unless @ocsp_faults;
            $ocsp_mode = shift @ocsp_faults;
            $next{ocsp} = $now + 5 + rand 3;
        }
        else { $ocsp_mode = 'good'; $next{ocsp} = $now + 15 + rand 10; }
        set_ocsp_mode($ocsp_mode);
    }
    my $wake = 1e12;
    $wake = $_ < $wake ? $_ : $wake for values %next;
    $wake = $graceful_pending if $graceful_pending && $graceful_pending < $wake;
    $wake = $httpd_check if $httpd_check && $httpd_check < $wake;
    $wake = $crl_inplace->[3] if $crl_inplace && $crl_inplace->[3] < $wake;
    my $nap = $wake - time;
    sleep($nap > 0.5 ? 0.5 : $nap) if $nap > 0;
}
finish_crl_inplace() if $crl_inplace;
event('end', $stop ? 'interrupted' : 'done');
# let the workers finish their last request (each is bounded by 15 s)
my $until = time + 25;
while (%worker && time < $until) {
    my $p = waitpid(-1, WNOHANG);
    if ($p > 0) { delete $worker{$p}; next; }
    sleep 0.1;
}
sample();
# the server's own counters, from a vhost without a client certificate
system('curl', '-s', '-k', '--max-time', '10', '-o', "$D/data/status.json",
       "https://127.0.0.1:$port{allow}/status?json");
event('httpd-stop');
cleanup();
event('stopped');
exit($stop ? 130 : 0);
