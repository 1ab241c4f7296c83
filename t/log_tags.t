# Every log line above debug starts with a unique SECnnnnn tag (STYLE.md): no tag is used twice in the
# sources, and no ap_log_* call above debug goes out without one.
use strict;
use warnings FATAL => 'all';

use Apache::Test qw(-withtestmore);

my $src = Apache::Test::vars('top_dir') . '/mod_secure';
opendir(my $dh, $src) or die "opendir $src: $!";
my @files = sort grep { /\.c$/ } readdir $dh;
closedir $dh;

plan tests => 3;

my (%seen, @dups, @untagged, $calls);
for my $f (@files) {
    open my $fh, '<', "$src/$f" or die;
    local $/;
    my $text = <$fh>;
    while ($text =~ /SECTAG\((\d{5})\)/g) {
        push @dups, "SEC$1 in $f and $seen{$1}" if $seen{$1};
        $seen{$1} = $f;
    }
    # every ap_log_*error call whose level is above debug must carry a tag; a module-local wrapper that
    # passes a ready message through ("%s", msg) is checked at its own call sites instead
    while ($text =~ /(ap_log_(?:c|r|p)?error\s*\((.*?)\);)/gs) {
        my ($call, $args) = ($1, $2);
        next if $args =~ /APLOG_(DEBUG|TRACE\d)/;
        next if $args =~ /,\s*"%s",\s*\w+\s*$/;
        $calls++;
        push @untagged, "$f: " . substr($call =~ s/\s+/ /gr, 0, 100) unless $args =~ /SECTAG\(\d{5}\)/;
    }
    while ($text =~ /(\b(?!ap_)\w+_log\s*\((.*?)\);)/gs) {
        my ($call, $args) = ($1, $2);
        next unless $args =~ /APLOG_(EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO)\b/;
        $calls++;
        push @untagged, "$f: " . substr($call =~ s/\s+/ /gr, 0, 100) unless $args =~ /SECTAG\(\d{5}\)/;
    }
}
ok(scalar(keys %seen) > 0, scalar(keys %seen) . ' tags found in ' . scalar(@files) . ' files');
is(join("\n", @dups), '', 'no tag is used twice');
is(join("\n", @untagged), '', "all $calls log calls above debug are tagged");
