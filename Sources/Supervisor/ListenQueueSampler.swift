import Logging
import Scoreboard
import SystemSupport

/// Samples the listening socket's accept queue each time the supervisor's loop wakes (at least every 100 ms)
/// and writes the length and the maximum since start into the scoreboard's header for /status.
final class ListenQueueSampler {
    private let probe: ListenQueueProbe
    private let scoreboard: Scoreboard
    private let logger: Logger
    private var failureLogged = false

    init(socket: ListenSocket, scoreboard: Scoreboard, logger: Logger) {
        probe = ListenQueueProbe(listeningSocket: socket.fd, sockDiag: socket.takeSockDiag())
        self.scoreboard = scoreboard
        self.logger = logger
    }

    func sample() {
        guard let sample = probe.sample() else {
            // Said once: the status page then shows 0 for the queue.
            if !failureLogged {
                logger.warning("cannot read the listen queue of the socket (/status shows 0): \(SystemError("sock_diag")); a unix socket needs AF_NETLINK (under systemd: notes.socket's ListenNetlink=, docs/OPERATIONS.md)")
            }
            failureLogged = true
            return
        }
        scoreboard.publishListenQueue(length: UInt64(sample.queued), backlog: UInt64(sample.backlog))
    }
}
