#!/usr/bin/perl
# smpp_client.pl - a bulk SMPP client built on Net::SMPP (Debian's
# libnet-smpp-perl), an SMPP implementation not written on this project,
# used by cmd/herald's TestSMPPClientPerl against Herald's SMPP server:
#
#   perl smpp_client.pl [options] HOST PORT SYSTEM_ID PASSWORD
#
# It opens a transmitter bind and a receiver bind, submits --count
# messages (registered_delivery 1) with up to --window submit_sm
# outstanding (Net::SMPP's asynchronous mode), and answers every
# deliver_sm, until it holds a receipt for every message id Herald
# returned. After --pause-after receipts it drops its receiver connection
# (no unbind) and binds again --pause seconds later, while the transmitter
# goes on (--rate caps submit_sm per second). Any lost connection (Herald restarting) is reconnected every
# half second; submit_sm whose response never came are submitted again.
#
# Events, one a line on stdout:
#   bound role=tx|rx
#   lost role=tx|rx reason="..."
#   receiver_down receipts=N          (the deliberate disconnect)
#   receiver_up receipts=N down_seconds=S
#   progress accepted=N receipts=N
#   done submitted=N accepted=N resubmitted=N refused=N receipts=N unique=N
#        duplicates=N missing=N unknown=N seconds=S
#   duplicate id=ID                   (the first 20)
#   unknown id=ID                     (receipts for ids never returned, the first 20)
# Exit status: 0 when no receipt is missing, 1 otherwise, 2 bad usage.

use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use IO::Select;
use Net::SMPP;
use Time::HiRes qw(time);

$| = 1;
$SIG{PIPE} = 'IGNORE';

my %opt = (count => 10000, window => 100, 'pause-after' => 3000, pause => 30, timeout => 600,
           dest => '447911', source => 'Herald');
GetOptions(\%opt, 'count=i', 'window=i', 'rate=f', 'pause-after=i', 'pause=f', 'timeout=i', 'dest=s', 'source=s')
    && @ARGV == 4
    or do { print STDERR "usage: $0 [options] HOST PORT SYSTEM_ID PASSWORD\n"; exit 2; };
my ($host, $port, $system_id, $password) = @ARGV;

sub emit {
    my ($name, @kv) = @_;
    my $line = $name;
    while (@kv) {
        my ($k, $v) = splice @kv, 0, 2;
        $v = '' unless defined $v;
        $v = qq("$v") if $v eq '' || $v =~ /[\s"\\]/;
        $line .= " $k=$v";
    }
    print "$line\n";
}

my $start = time;
my @todo = (0 .. $opt{count} - 1);   # message indexes still to submit
my %outstanding;                      # tx seq => message index
my %known;                            # message id => index (submit_sm_resp status 0)
my %receipts;                         # message id => times received
my ($accepted, $resubmitted, $refused, $received, $dups, $unknown_printed) = (0, 0, 0, 0, 0, 0);
my ($tx, $rx);
my ($rx_paused_until, $paused_done, $rx_down_at) = (0, 0, 0);
my $next_tx_try = 0;
my $next_rx_try = 0;
my $last_progress = 0;
my $sent_total = 0;                   # submit_sm written, resubmits included
my $hold_until = 0;                   # no submits before this time (after a refusal)

sub connect_bind {
    my ($role) = @_;
    my $s = Net::SMPP->new_connect($host, port => $port, timeout => 5, async => 1) or return undef;
    my $seq = $role eq 'tx'
        ? $s->bind_transmitter(system_id => $system_id, password => $password, async => 1)
        : $s->bind_receiver(system_id => $system_id, password => $password, async => 1);
    IO::Select->new($s)->can_read(10) or do { close $s; return undef; };
    my $pdu = $s->read_pdu() or do { close $s; return undef; };
    if ($pdu->{status} != 0) {
        emit('bind_failed', role => $role, status => $pdu->{status});
        close $s;
        return undef;
    }
    emit('bound', role => $role);
    return $s;
}

sub lose {
    my ($role, $reason) = @_;
    emit('lost', role => $role, reason => $reason);
    if ($role eq 'tx') {
        close $tx if $tx;
        $tx = undef;
        # Submits without a response: Herald may or may not have stored
        # them; submit them again, as a real client would.
        for my $i (values %outstanding) {
            push @todo, $i;
            $resubmitted++;
        }
        %outstanding = ();
        $next_tx_try = time + 0.5;
    } else {
        close $rx if $rx;
        $rx = undef;
        $next_rx_try = time + 0.5;
    }
}

sub complete {
    return !@todo && !%outstanding
        && scalar(grep { !$receipts{$_} } keys %known) == 0;
}

sub serve_common {
    my ($s, $role, $pdu) = @_;
    my $cmd = $pdu->{cmd};
    if ($cmd == Net::SMPP::CMD_enquire_link) {
        $s->enquire_link_resp(seq => $pdu->{seq});
    } elsif ($cmd == Net::SMPP::CMD_unbind) {
        $s->unbind_resp(seq => $pdu->{seq});
        lose($role, 'unbound by herald');
    } elsif (!($cmd & 0x80000000)) {
        $s->generic_nack(seq => $pdu->{seq}, status => 0x03);
    }
}

while (!complete()) {
    if (time - $start > $opt{timeout}) {
        emit('error', reason => 'timeout');
        last;
    }
    if (!$tx && time >= $next_tx_try && (@todo || %outstanding)) {
        $tx = connect_bind('tx');
        $next_tx_try = time + 0.5 unless $tx;
    }
    if (!$rx && time >= $next_rx_try && time >= $rx_paused_until) {
        $rx = connect_bind('rx');
        if ($rx && $rx_paused_until) {
            emit('receiver_up', receipts => $received, down_seconds => sprintf('%.2f', time - $rx_down_at));
            $rx_paused_until = 0;
        }
        $next_rx_try = time + 0.5 unless $rx;
    }
    # Submit up to the window.
    while ($tx && @todo && keys(%outstanding) < $opt{window} && time >= $hold_until
           && (!$opt{rate} || $sent_total < $opt{rate} * (time - $start))) {
        my $i = shift @todo;
        my $seq = eval {
            $tx->submit_sm(
                async => 1, source_addr_ton => 5, source_addr_npi => 0, source_addr => $opt{source},
                dest_addr_ton => 1, dest_addr_npi => 1,
                destination_addr => $opt{dest} . sprintf('%06d', $i % 1000000),
                registered_delivery => 1, short_message => "perl message $i");
        };
        if (!$seq) {
            unshift @todo, $i;
            lose('tx', 'write failed');
            last;
        }
        $outstanding{$seq} = $i;
        $sent_total++;
    }
    my @handles = grep { defined } ($tx, $rx);
    if (!@handles) {
        select(undef, undef, undef, 0.1);
        next;
    }
    my @ready = IO::Select->new(@handles)->can_read($opt{rate} ? 0.01 : 0.2);
    for my $s (@ready) {
        my $role = (defined $tx && $s == $tx) ? 'tx' : 'rx';
        my $pdu = $s->read_pdu();
        if (!$pdu) {
            lose($role, ${*$s}{smpperror} // 'read failed');
            next;
        }
        my $cmd = $pdu->{cmd};
        if ($role eq 'tx' && $cmd == Net::SMPP::CMD_submit_sm_resp) {
            my $i = delete $outstanding{$pdu->{seq}};
            next unless defined $i;
            if ($pdu->{status} == 0) {
                $known{$pdu->{message_id}} = $i;
                $accepted++;
            } else {
                # Throttled (0x58) or a system error (0x08, the store
                # could not commit): submit again; anything else is a
                # refusal of the message itself.
                $refused++;
                emit('refused', status => sprintf('0x%08x', $pdu->{status})) if $refused <= 5;
                if ($pdu->{status} == 0x58 || $pdu->{status} == 0x08) {
                    push @todo, $i;
                    $hold_until = time + 0.1;    # back off a little
                }
            }
        } elsif ($role eq 'rx' && $cmd == Net::SMPP::CMD_deliver_sm) {
            $s->deliver_sm_resp(seq => $pdu->{seq}, message_id => '');
            my $id = $pdu->{receipted_message_id} // '';
            $id =~ s/\0+\z//;
            $received++;
            if ($receipts{$id}++) {
                $dups++;
                emit('duplicate', id => $id) if $dups <= 20;
            }
            if ($received - $last_progress >= 1000) {
                $last_progress = $received;
                emit('progress', accepted => $accepted, receipts => $received);
            }
            if (!$paused_done && $received >= $opt{'pause-after'}) {
                # The deliberate disconnect: drop the connection, no unbind.
                $paused_done = 1;
                close $rx;
                $rx = undef;
                $rx_down_at = time;
                $rx_paused_until = $rx_down_at + $opt{pause};
                emit('receiver_down', receipts => $received);
            }
        } else {
            serve_common($s, $role, $pdu);
        }
    }
}

for my $s (grep { defined } ($tx, $rx)) {
    eval { $s->unbind(async => 1); };
    close $s;
}
my $missing = grep { !$receipts{$_} } keys %known;
my $unknown = 0;
for my $id (keys %receipts) {
    next if exists $known{$id};
    $unknown++;
    emit('unknown', id => $id) if $unknown <= 20;
}
emit('done', submitted => $opt{count}, accepted => $accepted, resubmitted => $resubmitted, refused => $refused,
     receipts => $received, unique => scalar(keys %receipts), duplicates => $dups, missing => $missing,
     unknown => $unknown, seconds => sprintf('%.1f', time - $start));
exit($missing == 0 && $accepted >= $opt{count} ? 0 : 1);
