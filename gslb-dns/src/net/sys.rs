//! The socket syscalls std and socket2 do not offer: `recvmmsg`/`sendmmsg` batches, packet
//! info (so wildcard sockets reply from the address queried) and the privileged
//! buffer-size options. Every `unsafe` block of the crate lives here, but for the one
//! `clock_gettime` of `crate::clock`.
//!
//! Why unsafe: batching many datagrams per syscall is the largest single saving on the UDP
//! path (the kernel, not our lookup, dominates the cost per query; see
//! `/work/shared/notes/peers.md`), and only the raw `libc` calls offer it. Each block states
//! the invariant that makes it sound. The pointers handed to the kernel all point into
//! buffers owned by `Batch`, allocated once in `Batch::new` and never resized afterwards, and
//! are re-derived right before each call, so they are valid for the whole syscall.

#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};

use socket2::SockAddr;

/// One datagram of a received batch, as the worker loop sees it.
pub(crate) struct Datagram<'a> {
    /// The payload as received (cut at the slot size; see `truncated`).
    pub payload: &'a [u8],
    /// Who sent it; `None` for an address family we do not serve.
    pub peer: Option<SocketAddr>,
    /// True when the datagram was larger than the slot and got cut (MSG_TRUNC).
    pub truncated: bool,
}

/// Preallocated buffers for one worker: `slots` receive buffers of `slot_size` bytes, one
/// reply buffer per slot, and the `mmsghdr`/`iovec` arrays the kernel fills and reads.
///
/// Invariant: after `new`, none of the vectors is resized, so a query costs no allocation
/// (a reply larger than its buffer's capacity grows it once; the capacity is kept).
pub(crate) struct Batch {
    slot_size: usize,
    receive_buffer: Vec<u8>,
    receive_iovecs: Vec<libc::iovec>,
    receive_headers: Vec<libc::mmsghdr>,
    names: Vec<libc::sockaddr_storage>,
    /// Per slot, room for the IP_PKTINFO / IPV6_PKTINFO control message of a wildcard
    /// socket (u64 words keep it aligned for `cmsghdr`).
    control: Vec<u64>,
    replies: Vec<Vec<u8>>,
    has_reply: Vec<bool>,
    send_iovecs: Vec<libc::iovec>,
    send_headers: Vec<libc::mmsghdr>,
    received: usize,
    /// Whether every receive header has been armed once (see `receive`).
    armed: bool,
}

// SAFETY: the raw pointers inside the iovec/mmsghdr arrays only ever point into this
// struct's own heap buffers; moving the struct to another thread moves those along.
unsafe impl Send for Batch {}

impl Batch {
    /// Buffers for `slots` datagrams of at most `slot_size` bytes, replies preallocated to
    /// `reply_capacity` bytes each.
    pub(crate) fn new(slots: usize, slot_size: usize, reply_capacity: usize) -> Batch {
        let slots = slots.max(1);
        // SAFETY: iovec, mmsghdr and sockaddr_storage are plain C structs for which all-zero
        // bytes is a valid (empty) value.
        let zero_iovec: libc::iovec = unsafe { mem::zeroed() };
        let zero_header: libc::mmsghdr = unsafe { mem::zeroed() };
        let zero_name: libc::sockaddr_storage = unsafe { mem::zeroed() };
        Batch {
            slot_size,
            receive_buffer: vec![0; slots * slot_size],
            receive_iovecs: vec![zero_iovec; slots],
            receive_headers: vec![zero_header; slots],
            names: vec![zero_name; slots],
            control: vec![0; slots * CONTROL_WORDS],
            replies: (0..slots)
                .map(|_| Vec::with_capacity(reply_capacity))
                .collect(),
            has_reply: vec![false; slots],
            send_iovecs: vec![zero_iovec; slots],
            send_headers: vec![zero_header; slots],
            received: 0,
            armed: false,
        }
    }

    /// Receives up to `slots` datagrams with one `recvmmsg(MSG_WAITFORONE)`: blocks (up to
    /// the socket's read timeout) for the first, then takes whatever else is queued.
    ///
    /// Only the headers the previous call could have written are re-armed (the kernel
    /// writes back the name, control and flags fields of the datagrams it returned, and of
    /// none after them), so after a call that returned two datagrams the next re-arms three
    /// headers, not `slots`.
    pub(crate) fn receive(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
        let slots = self.receive_headers.len();
        let touched = if self.armed {
            (self.received + 1).min(slots)
        } else {
            slots
        };
        for slot in 0..touched {
            self.arm(slot);
        }
        self.armed = true;
        self.received = 0;
        // SAFETY: every header points at live buffers of this Batch (armed above or by an
        // earlier call; the buffers are never resized, so the pointers stay valid) whose
        // sizes are given in iov_len / msg_namelen / msg_controllen; the kernel writes at
        // most that much. The raw syscall skips libc's cancellation-point bookkeeping (we
        // never cancel threads) and behaves as `recvmmsg(3)` otherwise.
        let count = unsafe {
            libc::syscall(
                libc::SYS_recvmmsg,
                socket.as_raw_fd(),
                self.receive_headers.as_mut_ptr(),
                slots as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut::<libc::timespec>(),
            )
        };
        if count < 0 {
            return Err(io::Error::last_os_error());
        }
        self.received = count as usize;
        Ok(self.received)
    }

    /// Points receive header `slot` at its buffer, name and control room, lengths reset.
    fn arm(&mut self, slot: usize) {
        let base = self.receive_buffer.as_mut_ptr();
        self.receive_iovecs[slot] = libc::iovec {
            // SAFETY: slot * slot_size + slot_size <= receive_buffer.len() by construction.
            iov_base: unsafe { base.add(slot * self.slot_size) }.cast(),
            iov_len: self.slot_size,
        };
        let header = &mut self.receive_headers[slot];
        header.msg_hdr.msg_name = (&mut self.names[slot] as *mut libc::sockaddr_storage).cast();
        header.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        header.msg_hdr.msg_iov = &mut self.receive_iovecs[slot];
        header.msg_hdr.msg_iovlen = 1;
        header.msg_hdr.msg_control = self.control[slot * CONTROL_WORDS..].as_mut_ptr().cast();
        header.msg_hdr.msg_controllen = CONTROL_WORDS * mem::size_of::<u64>();
        header.msg_hdr.msg_flags = 0;
        header.msg_len = 0;
    }

    /// Runs `answer(datagram, reply_buffer) -> bool` for every datagram of the last receive;
    /// a `true` marks the slot's reply for `send`.
    pub(crate) fn answer_each(
        &mut self,
        mut answer: impl FnMut(Datagram<'_>, &mut Vec<u8>) -> bool,
    ) {
        // A panic in `answer` leaves later slots unanswered, never with a stale reply.
        self.has_reply[..self.received].fill(false);
        for slot in 0..self.received {
            let header = &self.receive_headers[slot];
            let length = (header.msg_len as usize).min(self.slot_size);
            let start = slot * self.slot_size;
            let datagram = Datagram {
                payload: &self.receive_buffer[start..start + length],
                peer: socket_addr(&self.names[slot], header.msg_hdr.msg_namelen),
                truncated: header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
            let reply = &mut self.replies[slot];
            reply.clear();
            self.has_reply[slot] = answer(datagram, reply);
        }
    }

    /// Sends every marked reply back to the address its query came from, with as few
    /// `sendmmsg` calls as the kernel allows. Returns how many were sent; a reply the
    /// kernel refuses (e.g. an unreachable peer) is skipped, never retried.
    pub(crate) fn send(&mut self, socket: &impl AsRawFd) -> usize {
        let mut pending = 0;
        for slot in 0..self.received {
            if !self.has_reply[slot] {
                continue;
            }
            let reply = &mut self.replies[slot];
            self.send_iovecs[pending] = libc::iovec {
                iov_base: reply.as_mut_ptr().cast(),
                iov_len: reply.len(),
            };
            let header = &mut self.send_headers[pending];
            header.msg_hdr.msg_name = (&mut self.names[slot] as *mut libc::sockaddr_storage).cast();
            header.msg_hdr.msg_namelen = self.receive_headers[slot].msg_hdr.msg_namelen;
            header.msg_hdr.msg_iov = &mut self.send_iovecs[pending];
            header.msg_hdr.msg_iovlen = 1;
            // Reply from the address the query was sent to (wildcard sockets only): hand
            // the received packet info back to the kernel as the source to use.
            let received = &mut self.receive_headers[slot].msg_hdr;
            if received.msg_controllen > 0 {
                reply_from_destination(received);
                header.msg_hdr.msg_control = received.msg_control;
                header.msg_hdr.msg_controllen = received.msg_controllen;
            } else {
                header.msg_hdr.msg_control = std::ptr::null_mut();
                header.msg_hdr.msg_controllen = 0;
            }
            header.msg_hdr.msg_flags = 0;
            header.msg_len = 0;
            pending += 1;
        }
        let mut sent = 0;
        let mut start = 0;
        while start < pending {
            // SAFETY: headers[start..pending] point at reply buffers and peer names of this
            // Batch, filled just above and not touched until the call returns. The raw
            // syscall, as for `recvmmsg` in `receive`.
            let count = unsafe {
                libc::syscall(
                    libc::SYS_sendmmsg,
                    socket.as_raw_fd(),
                    self.send_headers.as_mut_ptr().add(start),
                    (pending - start) as libc::c_uint,
                    0,
                )
            };
            if count < 0 {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                tracing::debug!("udp reply dropped: {error}");
                start += 1;
            } else {
                sent += count as usize;
                start += count as usize;
            }
        }
        sent
    }
}

/// Control-message room per slot, in u64 words (an `in6_pktinfo` needs 36 bytes with its
/// header).
const CONTROL_WORDS: usize = 8;

/// Rewrites a received IPv4 `in_pktinfo` so that, passed to `sendmsg`, it makes the kernel
/// send from the query's destination address (`ipi_spec_dst = ipi_addr`, any interface).
/// An `in6_pktinfo` already has that meaning as received.
fn reply_from_destination(header: &mut libc::msghdr) {
    // SAFETY: `header` was filled by recvmmsg: msg_control points at this slot's control
    // buffer and msg_controllen is the length the kernel wrote, so the CMSG_* walk stays
    // inside it; the pktinfo is read and written unaligned.
    unsafe {
        let mut message = libc::CMSG_FIRSTHDR(header);
        while !message.is_null() {
            if (*message).cmsg_level == libc::IPPROTO_IP && (*message).cmsg_type == libc::IP_PKTINFO
            {
                let data = libc::CMSG_DATA(message).cast::<libc::in_pktinfo>();
                let mut info = data.read_unaligned();
                info.ipi_spec_dst = info.ipi_addr;
                info.ipi_ifindex = 0;
                data.write_unaligned(info);
            }
            message = libc::CMSG_NXTHDR(header, message);
        }
    }
}

/// Asks the kernel for each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO),
/// so that a socket bound to a wildcard address can reply from the address the client used.
pub(crate) fn enable_packet_info(socket: &socket2::Socket, ipv6: bool) -> io::Result<()> {
    let (level, option) = if ipv6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    if set_option(socket.as_raw_fd(), level, option, 1) {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Makes `socket` send every datagram with DF set and never fragment it, whatever path MTU
/// the kernel has learnt (`IP_PMTUDISC_PROBE` / `IPV6_PMTUDISC_PROBE`): DNS replies are
/// not to be fragmented (DNS Flag Day 2020; `max_udp_payload` defaults to 1232 for that),
/// and ICMP "fragmentation needed" messages, easily spoofed, no longer shrink what we send.
/// A reply larger than the interface MTU then fails to send (and is dropped, as a router
/// would drop it with DF) instead of leaving in fragments. It also spares the kernel the
/// IPv4 identification hash per reply: an atomic datagram with DF gets ID 0 (RFC 6864).
pub(crate) fn set_dont_fragment(socket: &socket2::Socket, ipv6: bool) -> io::Result<()> {
    let (level, option, value) = if ipv6 {
        (
            libc::IPPROTO_IPV6,
            libc::IPV6_MTU_DISCOVER,
            libc::IPV6_PMTUDISC_PROBE,
        )
    } else {
        (
            libc::IPPROTO_IP,
            libc::IP_MTU_DISCOVER,
            libc::IP_PMTUDISC_PROBE,
        )
    };
    if set_option(socket.as_raw_fd(), level, option, value as usize) {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Decodes a kernel-filled socket address.
fn socket_addr(storage: &libc::sockaddr_storage, length: libc::socklen_t) -> Option<SocketAddr> {
    // SAFETY: `storage` is a full sockaddr_storage and `length` is what the kernel wrote.
    let address = unsafe { SockAddr::new(*storage, length) };
    address.as_socket()
}

/// Sets SO_RCVBUF and SO_SNDBUF to `bytes`, first with the privileged `*FORCE` variants
/// (which ignore `net.core.rmem_max`) and then the ordinary ones; best effort.
pub(crate) fn set_buffer_sizes(socket: &socket2::Socket, bytes: usize) {
    let fd = socket.as_raw_fd();
    if !set_option(fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes) {
        let _ = socket.set_recv_buffer_size(bytes);
    }
    if !set_option(fd, libc::SOL_SOCKET, libc::SO_SNDBUFFORCE, bytes) {
        let _ = socket.set_send_buffer_size(bytes);
    }
}

fn set_option(fd: RawFd, level: libc::c_int, option: libc::c_int, value: usize) -> bool {
    let value = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
    // SAFETY: passes a pointer to a live c_int and its exact size.
    let result = unsafe {
        libc::setsockopt(
            fd,
            level,
            option,
            (&value as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    result == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::time::Duration;

    fn get_option(fd: RawFd, level: libc::c_int, option: libc::c_int) -> libc::c_int {
        let mut value: libc::c_int = -1;
        let mut length = mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: passes a live c_int and its size; the kernel writes at most that.
        let result = unsafe {
            libc::getsockopt(
                fd,
                level,
                option,
                (&mut value as *mut libc::c_int).cast(),
                &mut length,
            )
        };
        assert_eq!(result, 0, "{}", io::Error::last_os_error());
        value
    }

    /// The workers' sockets never fragment a reply and ignore learnt path MTUs, on both
    /// families.
    #[test]
    fn worker_sockets_send_with_dont_fragment() {
        let v4 = crate::net::udp::bind_udp("127.0.0.1:0".parse().unwrap(), 0).unwrap();
        assert_eq!(
            get_option(v4.as_raw_fd(), libc::IPPROTO_IP, libc::IP_MTU_DISCOVER),
            libc::IP_PMTUDISC_PROBE
        );
        let v6 = crate::net::udp::bind_udp("[::1]:0".parse().unwrap(), 0).unwrap();
        assert_eq!(
            get_option(v6.as_raw_fd(), libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER),
            libc::IPV6_PMTUDISC_PROBE
        );
    }

    /// Three datagrams arrive in one batch and each gets its own reply, to its own sender.
    #[test]
    fn a_batch_answers_each_sender() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let address = server.local_addr().unwrap();
        let clients: Vec<UdpSocket> = (0..3)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for (index, client) in clients.iter().enumerate() {
            client.send_to(&[index as u8; 3], address).unwrap();
        }
        let mut batch = Batch::new(8, 512, 512);
        let mut total = 0;
        while total < 3 {
            let count = batch.receive(&server).unwrap();
            batch.answer_each(|datagram, reply| {
                assert!(!datagram.truncated);
                reply.extend_from_slice(datagram.payload);
                reply.push(0xff);
                true
            });
            assert_eq!(batch.send(&server), count);
            total += count;
        }
        for (index, client) in clients.iter().enumerate() {
            client
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut buffer = [0u8; 16];
            let (length, from) = client.recv_from(&mut buffer).unwrap();
            assert_eq!(from, address);
            assert_eq!(
                &buffer[..length],
                &[index as u8, index as u8, index as u8, 0xff]
            );
        }
    }

    /// Headers are re-armed only where the kernel wrote: a wildcard socket (which gets a
    /// packet-info control message per datagram) answers a batch of one, then of four, then
    /// of two from alternating senders, each reply reaching its own sender from the address
    /// queried.
    #[test]
    fn batches_of_changing_size_keep_names_and_packet_info_apart() {
        let server = socket2::Socket::new(
            socket2::Domain::IPV4,
            socket2::Type::DGRAM,
            Some(socket2::Protocol::UDP),
        )
        .unwrap();
        enable_packet_info(&server, false).unwrap();
        server
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        server
            .bind(&"0.0.0.0:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        let port = server.local_addr().unwrap().as_socket().unwrap().port();
        let queried: SocketAddr = ([127, 0, 0, 3], port).into();
        let clients: Vec<UdpSocket> = (0..2)
            .map(|_| UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut batch = Batch::new(8, 512, 512);
        for (sequence, size) in [1usize, 4, 2].into_iter().enumerate() {
            let sequence = sequence as u8;
            for index in 0..size {
                clients[index % 2]
                    .send_to(&[sequence, index as u8], queried)
                    .unwrap();
            }
            let mut total = 0;
            while total < size {
                let count = batch.receive(&server).unwrap();
                batch.answer_each(|datagram, reply| {
                    reply.extend_from_slice(datagram.payload);
                    reply.extend_from_slice(&datagram.peer.unwrap().port().to_be_bytes());
                    true
                });
                assert_eq!(batch.send(&server), count);
                total += count;
            }
            for index in 0..size {
                let client = &clients[index % 2];
                client
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let mut buffer = [0u8; 16];
                let (length, from) = client.recv_from(&mut buffer).unwrap();
                assert_eq!(from, queried, "the reply comes from the address queried");
                let own_port = client.local_addr().unwrap().port().to_be_bytes();
                assert_eq!(length, 4);
                assert_eq!(buffer[0], sequence, "a reply from this round");
                assert_eq!(
                    usize::from(buffer[1]) % 2,
                    index % 2,
                    "to the client that asked"
                );
                assert_eq!(
                    &buffer[2..4],
                    &own_port,
                    "the peer name read for that datagram"
                );
            }
        }
    }
}
