package SecureRevoke;
# Helpers for the revocation tests: atomic replacement of the files the server watches, and requests on
# one keep-alive or HTTP/2 connection (the CAs and CRLs come from SecurePKI).
use strict;
use warnings FATAL => 'all';

use File::Copy ();
use IO::Select ();
use IO::Socket::SSL qw(SSL_VERIFY_NONE);
use Time::HiRes ();
use SecureTest qw(vhost_port write_file);

use Exporter 'import';
our @EXPORT_OK = qw(install_file keepalive_requests h2_requests);

# Replaces $dest atomically with the content of $src (or with the bytes in $data).
sub install_file {
    my ($dest, %o) = @_;
    my $tmp = "$dest.tmp$$";
    if (defined $o{data}) { write_file($tmp, $o{data}) }
    else { File::Copy::copy($o{src}, $tmp) or die "copy $o{src}: $!" }
    rename $tmp, $dest or die "rename $tmp: $!";
    # a new inode alone marks the change; mtime may equal the old one within the same second
}

# Several HTTP/1.1 requests on one keep-alive TLS connection, so a test sees whether the *server* chose
# to close it (the client never sends "Connection: close"). A code reference among the paths is called
# between requests instead (here and in h2_requests).
#   keepalive_requests(vhost => 'revoke_reneg', paths => ['/need-cert', '/info'], ssl => { ... })
# Returns (error text or undef, [ one hash per response: status, headers (lower-case), body,
# close_header (the server said Connection: close), eof (the server closed the socket after it) ]).
# Stops after a response the server closed the connection on.
sub keepalive_requests {
    my %a = @_;
    my $sock = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $a{port} || vhost_port($a{vhost}), Timeout => 10,
                                    SSL_verify_mode => SSL_VERIFY_NONE, SSL_hostname => 'localhost',
                                    %{ $a{ssl} || {} })
        or return ($IO::Socket::SSL::SSL_ERROR || "$!", []);
    my @resp;
    for my $path (@{ $a{paths} }) {
        if (ref $path eq 'CODE') { $path->(); next }    # the client pauses here (e.g. a file changes)
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
        if (ref $path eq 'CODE') { $path->(); next }    # the client pauses here (e.g. a file changes)
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
