package SecureRevoke;
# Helpers for the revocation tests: a scratch copy of the asf test CA (or a new intermediate CA) driven
# by `openssl ca` with our own minimal config, atomic replacement of the files the server watches, and
# TLS alert numbers as the client saw them.
use strict;
use warnings FATAL => 'all';

use File::Copy ();
use File::Path ();
use IO::Select ();
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use Time::HiRes ();
use SecureTest qw(sslca run_cmd vhost_port);

use Exporter 'import';
our @EXPORT_OK = qw(scratch_ca new_ca ca_cmd issue revoke gencrl install_file alert_of serial_of fingerprint_of
                    crl_text keepalive_requests h2_requests);

my $CNF = <<'CNF';
[ ca ]
default_ca = CA_default
[ CA_default ]
dir              = @DIR@
database         = $dir/index.txt
new_certs_dir    = $dir/newcerts
serial           = $dir/serial
crlnumber        = $dir/crlnumber
certificate      = $dir/ca.crt
private_key      = $dir/ca.key
default_md       = sha256
default_days     = 30
default_crl_days = 1
policy           = policy_any
unique_subject   = no
[ policy_any ]
commonName       = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt           = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints       = critical, CA:true
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
[ v3_leaf ]
basicConstraints       = CA:false
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
CNF

sub _write { my ($f, $t) = @_; open my $fh, '>', $f or die "$f: $!"; print $fh $t; close $fh }

sub _setup_dir {
    my $dir = shift;
    File::Path::make_path("$dir/newcerts");
    _write("$dir/crlnumber", "01\n") unless -e "$dir/crlnumber";
    (my $cnf = $CNF) =~ s/\@DIR\@/$dir/;
    _write("$dir/openssl.cnf", $cnf);
    return { dir => $dir, cnf => "$dir/openssl.cnf", pass => 'pass:httpd' };
}

# Runs `openssl <args>` and dies with its output unless it succeeds.
sub ca_cmd {
    my @args = @_;
    my ($rc, $out) = run_cmd(['openssl', @args], '', 60);
    die "openssl @args: $out" if $rc != 0;
    return $out;
}

# A scratch copy of the asf test CA (same key, same index: it knows client_ok and client_revoked).
sub scratch_ca {
    my $dir = shift;
    File::Path::remove_tree($dir);
    my $ca = _setup_dir($dir);
    my $asf = sslca();
    File::Copy::copy("$asf/certs/ca.crt", "$dir/ca.crt") or die;
    File::Copy::copy("$asf/keys/ca.pem", "$dir/ca.key") or die;
    File::Copy::copy("$asf/index.txt", "$dir/index.txt") or die;
    File::Copy::copy("$asf/serial", "$dir/serial") or die;
    _write("$dir/index.txt.attr", "unique_subject = no\n");
    return $ca;
}

# A new CA: self-signed root when $parent is undef, else an intermediate signed by $parent.
sub new_ca {
    my ($dir, $cn, $parent) = @_;
    File::Path::remove_tree($dir);
    my $ca = _setup_dir($dir);
    _write("$dir/index.txt", '');
    _write("$dir/serial", "1000\n");
    ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$dir/ca.key.plain", '-subj', "/O=mod_secure test/CN=$cn",
           '-out', "$dir/ca.csr");
    ca_cmd('rsa', '-in', "$dir/ca.key.plain", '-aes256', '-passout', 'pass:httpd', '-out', "$dir/ca.key");
    ca_cmd('ca', '-batch', '-config', $parent->{cnf}, '-passin', $parent->{pass}, '-extensions', 'v3_ca',
           '-in', "$dir/ca.csr", '-out', "$dir/ca.crt", '-notext');
    return $ca;
}

# Issues a client certificate; returns (cert file, key file).
sub issue {
    my ($ca, $name) = @_;
    my $d = $ca->{dir};
    ca_cmd('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$d/$name.key", '-subj', "/O=mod_secure test/CN=$name",
           '-out', "$d/$name.csr");
    ca_cmd('ca', '-batch', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-extensions', 'v3_leaf',
           '-in', "$d/$name.csr", '-out', "$d/$name.crt", '-notext');
    return ("$d/$name.crt", "$d/$name.key");
}

sub revoke {
    my ($ca, $cert, $reason) = @_;
    ca_cmd('ca', '-config', $ca->{cnf}, '-passin', $ca->{pass}, '-revoke', $cert,
           $reason ? ('-crl_reason', $reason) : ());
}

# Writes a CRL (PEM) to $out; opts: hours / secs (validity; default one day), der => 1.
sub gencrl {
    my ($ca, $out, %o) = @_;
    my @valid = defined $o{secs} ? ('-crlsec', $o{secs})
              : defined $o{hours} ? ('-crlhours', $o{hours}) : ();
    ca_cmd('ca', '-gencrl', '-config', $ca->{cnf}, '-passin', $ca->{pass}, @valid, '-out', "$out.pem");
    if ($o{der}) {
        ca_cmd('crl', '-in', "$out.pem", '-outform', 'DER', '-out', $out);
        unlink "$out.pem";
    }
    else {
        rename "$out.pem", $out or die "rename: $!";
    }
    return $out;
}

# Replaces $dest atomically with the content of $src (or with the bytes in $data).
sub install_file {
    my ($dest, %o) = @_;
    my $tmp = "$dest.tmp$$";
    if (defined $o{data}) { _write($tmp, $o{data}) }
    else { File::Copy::copy($o{src}, $tmp) or die "copy $o{src}: $!" }
    rename $tmp, $dest or die "rename $tmp: $!";
    # a new inode alone marks the change; mtime may equal the old one within the same second
}

# The TLS alert number in a client error text ("... alert number 44" / "sslv3 alert certificate revoked").
my %ALERT_NAME = ('certificate revoked' => 44, 'certificate unknown' => 46, 'unknown ca' => 48,
                  'bad certificate' => 42, 'handshake failure' => 40, 'internal error' => 80,
                  'certificate expired' => 45, 'access denied' => 49);
sub alert_of {
    my $text = shift // '';
    return $1 + 0 if $text =~ /alert number (\d+)/;
    for my $n (keys %ALERT_NAME) {
        return $ALERT_NAME{$n} if $text =~ /alert \Q$n\E/i || $text =~ /\Q$n\E/i && $text =~ /alert/i;
    }
    return undef;
}

sub serial_of {
    my $cert = shift;
    my $out = ca_cmd('x509', '-in', $cert, '-noout', '-serial');
    $out =~ /serial=([0-9A-Fa-f]+)/ or die "no serial in $out";
    return $1;
}

sub fingerprint_of {
    my $cert = shift;
    my $out = ca_cmd('x509', '-in', $cert, '-noout', '-fingerprint', '-sha256');
    $out =~ /Fingerprint=([0-9A-Fa-f:]+)/ or die "no fingerprint in $out";
    return $1;
}

sub crl_text {
    my ($crl, @fmt) = @_;
    return ca_cmd('crl', '-in', $crl, @fmt, '-noout', '-text');
}

# Several HTTP/1.1 requests on one keep-alive TLS connection, so a test sees whether the *server* chose
# to close it (the client never sends "Connection: close").
#   keepalive_requests(vhost => 'revoke_reneg', paths => ['/need-cert', '/info'], ssl => { ... })
# Returns (error text or undef, [ one hash per response: status, headers (lower-case), body,
# close_header (the server said Connection: close), eof (the server closed the socket after it) ]).
# Stops after a response the server closed the connection on.
sub keepalive_requests {
    my %a = @_;
    my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => vhost_port($a{vhost}), Timeout => 10,
                                    SSL_verify_mode => SSL_VERIFY_NONE, SSL_hostname => 'localhost',
                                    %{ $a{ssl} || {} })
        or return ($IO::Socket::SSL::SSL_ERROR || "$!", []);
    my @resp;
    for my $path (@{ $a{paths} }) {
        print $sock "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
        my $r = _read_response($sock, $a{timeout} || 10);
        push @resp, $r;
        last if !defined $r->{status} || $r->{eof} || $r->{close_header};
    }
    # the server said close: it must also have closed the socket (EOF within 2 s)
    my $last = $resp[-1];
    $last->{eof} ||= _eof_within($sock, 2) if $last && $last->{close_header};
    $sock->close(SSL_fast_shutdown => 1);
    return (undef, \@resp);
}

# Reads one response (Content-Length or chunked body); a short read ends at EOF or the deadline.
sub _read_response {
    my ($sock, $secs) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    my ($buf, %r) = ('');
    while (1) {
        if ($buf =~ /\A(HTTP\/1\.[01]) (\d{3})[^\r\n]*\r\n(.*?)\r\n\r\n/s) {
            my ($status, $head, $hlen) = ($2, $3, $+[0]);
            my %h = map { my ($k, $v) = split /:\s*/, $_, 2; (lc $k, $v // '') } split /\r\n/, $head;
            my $body = substr($buf, $hlen);
            my $done = defined $h{'content-length'} ? length($body) >= $h{'content-length'}
                     : ($h{'transfer-encoding'} // '') =~ /chunked/i ? $body =~ /(?:\A|\r\n)0\r\n\r\n\z/
                     : $r{eof};
            if ($done || $r{eof}) {
                @r{qw(status headers body)} = ($status, \%h, $body);
                $r{close_header} = ($h{connection} // '') =~ /close/i ? 1 : 0;
                return \%r;
            }
        }
        return { %r, error => $r{eof} ? 'connection closed' : 'timeout', partial => $buf } if $r{eof};
        my $left = $deadline - Time::HiRes::time();
        return { error => 'timeout', partial => $buf } if $left <= 0;
        next if !$sock->pending && !IO::Select->new($sock)->can_read($left);
        my $n = sysread($sock, my $chunk, 65536);
        if ($n) { $buf .= $chunk } else { $r{eof} = 1 }
    }
}

sub _eof_within {
    my ($sock, $secs) = @_;
    my $deadline = Time::HiRes::time() + $secs;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        next if !$sock->pending && !IO::Select->new($sock)->can_read($left);
        my $n = sysread($sock, my $chunk, 4096);
        return 1 unless $n;
    }
    return 0;
}

# A minimal HTTP/2 client (no HTTP/2 module for Perl here, and curl cannot resume a TLS session saved by
# an earlier run): GET requests one after the other on one TLS connection, new streams 1, 3, 5, ...
#   h2_requests(vhost => 'revoke_h2', paths => ['/info', '/info'], ssl => { ... }, ctx => $client_ctx)
# Returns a hash: error (connect failure), alpn, reused, goaway (the server sent GOAWAY), eof (the server
# closed the socket), responses => [ { status, body, rst (RST_STREAM error code) } per request sent ].
sub h2_requests {
    my %a = @_;
    my %ssl = (PeerAddr => '127.0.0.1', PeerPort => vhost_port($a{vhost}), Timeout => 10,
               SSL_verify_mode => SSL_VERIFY_NONE, SSL_hostname => 'localhost', SSL_alpn_protocols => ['h2'],
               %{ $a{ssl} || {} });
    $ssl{SSL_reuse_ctx} = $a{ctx} if $a{ctx};
    my $sock = IO::Socket::SSL->new(%ssl) or return { error => $IO::Socket::SSL::SSL_ERROR || "$!" };
    my %res = (alpn => scalar($sock->alpn_selected) // '', reused => $sock->get_session_reused ? 1 : 0,
               goaway => 0, eof => 0, responses => []);
    my $frame = sub { my ($type, $flags, $id, $payload) = @_;
                      pack('NCN', (length($payload) << 8) | $type, $flags, $id) . $payload };
    # SETTINGS_HEADER_TABLE_SIZE 0: the server may not use the HPACK dynamic table, so every response
    # carries its :status in the first field by itself
    print $sock "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", $frame->(4, 0, 0, pack('nN', 1, 0));
    my ($buf, $id) = ('', 1);
    for my $path (@{ $a{paths} }) {
        last if $res{goaway} || $res{eof};
        # HPACK: :method GET (static 2), :scheme https (7), :path and :authority as literals, no Huffman
        my $hb = "\x82\x87" . "\x04" . chr(length $path) . $path . "\x01\x09localhost";
        print $sock $frame->(1, 0x5, $id, $hb);       # HEADERS, END_STREAM | END_HEADERS
        my %r = (body => '');
        my $deadline = Time::HiRes::time() + ($a{timeout} || 10);
        while (!$r{done}) {
            while (length($buf) >= 9) {
                my ($lt, $flags, $sid) = unpack('NCN', $buf);
                my ($len, $type) = ($lt >> 8, $lt & 0xff);
                last if length($buf) < 9 + $len;
                my $payload = substr($buf, 9, $len);
                substr($buf, 0, 9 + $len, '');
                $sid &= 0x7fffffff;
                if ($type == 4 && !($flags & 1)) { print $sock $frame->(4, 1, 0, '') }       # SETTINGS ack
                elsif ($type == 7) { $res{goaway} = 1; $res{goaway_error} = unpack('x4N', $payload) }
                next unless $sid == $id;
                # PADDED (0x8): a pad-length byte first and that many bytes at the end
                $payload = substr($payload, 1, length($payload) - 1 - ord $payload) if $flags & 0x8 && ($type == 0 || $type == 1);
                if ($type == 1) { $r{status} //= _h2_status($payload) }
                elsif ($type == 0) { $r{body} .= $payload }
                elsif ($type == 3) { $r{rst} = unpack('N', $payload); $r{done} = 1 }
                $r{done} = 1 if ($type == 0 || $type == 1) && ($flags & 1);
            }
            last if $r{done} || $res{goaway} && !defined $r{status};
            my $left = $deadline - Time::HiRes::time();
            if ($left <= 0) { $r{error} = 'timeout'; last }
            next if !$sock->pending && !IO::Select->new($sock)->can_read($left);
            my $n = sysread($sock, my $chunk, 65536);
            if ($n) { $buf .= $chunk } else { $res{eof} = 1; last }
        }
        push @{ $res{responses} }, \%r;
        $id += 2;
    }
    $sock->close(SSL_fast_shutdown => 1);
    return \%res;
}

# :status from the first field of a response header block (HPACK; httpd puts :status first).
my %H2_STATIC_STATUS = (8 => 200, 9 => 204, 10 => 206, 11 => 304, 12 => 400, 13 => 404, 14 => 500);
my %HUFF_DIGIT = ('00000' => 0, '00001' => 1, '00010' => 2, '011001' => 3, '011010' => 4, '011011' => 5,
                  '011100' => 6, '011101' => 7, '011110' => 8, '011111' => 9);
sub _h2_status {
    my $hb = shift;
    $hb =~ s/\A[\x20-\x3f]+//;                                    # dynamic table size updates (to 0)
    return undef unless length $hb;
    my $b = ord $hb;
    return $H2_STATIC_STATUS{$b & 0x7f} if $b & 0x80;              # indexed field
    # literal with the indexed name :status (8): incremental indexing 01xxxxxx, else 0000xxxx / 0001xxxx
    return undef unless (($b & 0xc0) == 0x40 && ($b & 0x3f) == 8) || (($b & 0xe0) == 0 && ($b & 0x0f) == 8);
    my $lb = ord substr($hb, 1, 1);
    my $val = substr($hb, 2, $lb & 0x7f);
    return $val unless $lb & 0x80;
    my ($bits, $code, $out) = (unpack('B*', $val), '', '');       # Huffman: only digits occur here
    for my $bit (split //, $bits) {
        $code .= $bit;
        if (exists $HUFF_DIGIT{$code}) { $out .= $HUFF_DIGIT{$code}; $code = '' }
    }
    return $out;
}

1;
