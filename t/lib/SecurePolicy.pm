package SecurePolicy;
# Helpers for the cipher-policy tests: extra client certificates signed by the asf test CA, the status
# counters, and starting a scratch httpd that is expected to refuse to start.
use strict;
use warnings FATAL => 'all';

use IO::Socket::INET ();
use JSON::PP ();
use SecureTest qw(tls_request run_cmd httpd_bin t_logs);
use SecurePKI qw(scratch_ca open_ca issue);

use Exporter 'import';
our @EXPORT_OK = qw(client_cert status_json start_fails free_port);

# A client certificate for the asf CA (issued through a SecurePKI scratch copy of it under
# t/logs/policy-pki/), made once per run:
#   client_cert('rsa1024', key => 'rsa:1024', md => 'sha256')
#   client_cert('ec256',   key => 'ec:P-256')
# Returns (certificate path, key path); dies with openssl's words when it cannot.
my $ca;
sub client_cert {
    my ($name, %o) = @_;
    my $dir = t_logs() . '/policy-pki';
    return ("$dir/$name.crt", "$dir/$name.key") if -s "$dir/$name.crt" && -s "$dir/$name.key";
    $ca ||= -s "$dir/ca.crt" ? open_ca($dir) : scratch_ca($dir);
    return issue($ca, $name, key => $o{key}, md => $o{md}, subj => "/O=ASF/CN=policy-$name");
}

# The secure-status counters of a vhost that has /status, as a hash.
sub status_json {
    my $vhost = shift;
    my $r = tls_request(vhost => $vhost, path => '/status?json');
    return eval { JSON::PP->new->decode($r->{body} // '') } || {};
}

# A TCP port nobody listens on right now (for scratch servers).
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 1) or die "socket: $!";
    my $port = $s->sockport;
    close $s;
    return $port;
}

# Starts httpd on a self-contained config text (the same placeholders as SecureTest::config_test, plus @PORT@)
# and expects it to fail. Returns (exit status, console output + the scratch error log). Stops the server if
# it started after all.
sub start_fails {
    my $text = shift;
    my $root = SecureTest::scratch_config('startfail', $text, free_port());
    my ($rc, $out) = run_cmd([httpd_bin(), '-f', "$root/httpd.conf", '-k', 'start'], '', 30);
    sleep 1;
    if (-s "$root/logs/httpd.pid") {
        run_cmd([httpd_bin(), '-f', "$root/httpd.conf", '-k', 'stop'], '', 30);
        $rc ||= 0;
        $out .= "\n(started: stopped again)\n";
        return (0, $out);
    }
    my $log = '';
    if (open my $lf, '<', "$root/logs/error_log") { local $/; $log = <$lf> // '' }
    return ($rc || 1, "$out\n$log");
}

1;
