#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CScoreboard
import SystemSupport

/// The memory the supervisor shares with its workers: a header the supervisor writes (its pid, start time,
/// generation, restart counters) and one slot per worker that only that worker writes (state, requests,
/// the request in hand). Nothing in it is HTTP- or notes-specific: method and path are opaque labels.
///
/// Sole owner of the mapping and of its file descriptor, which workers inherit; both go when this goes.
public final class Scoreboard {
    public let fd: Int32
    let board: UnsafeMutablePointer<notes_scoreboard>

    public static var capacity: Int { Int(NOTES_SCOREBOARD_SLOTS) }

    private init(fd: Int32, board: UnsafeMutablePointer<notes_scoreboard>) {
        self.fd = fd
        self.board = board
    }

    deinit {
        munmap(board, MemoryLayout<notes_scoreboard>.size)
        close(fd)
    }

    /// A new, zeroed scoreboard (supervisor). The shared-memory object is unlinked at once: it lives only as
    /// long as a process holds its descriptor, so a crash leaves nothing behind in /dev/shm.
    public static func create() throws(SystemError) -> Scoreboard {
        let name = "/notes-scoreboard-\(getpid())-\(monotonicNanoseconds())"
        let fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SystemError("shm_open \(name)") }
        shm_unlink(name)
        guard ftruncate(fd, off_t(MemoryLayout<notes_scoreboard>.size)) == 0 else {
            let error = SystemError("ftruncate scoreboard")
            close(fd)
            throw error
        }
        let scoreboard = try map(fd)
        scoreboard.board.pointee.magic = NOTES_SCOREBOARD_MAGIC
        return scoreboard
    }

    /// The supervisor's scoreboard, inherited as `fd` (worker).
    public static func attach(fd: Int32) throws(SystemError) -> Scoreboard {
        var status = stat()
        guard fstat(fd, &status) == 0, Int(status.st_size) >= MemoryLayout<notes_scoreboard>.size else {
            throw SystemError("scoreboard fd \(fd) is not a scoreboard", code: EINVAL)
        }
        let scoreboard = try map(fd)
        guard scoreboard.board.pointee.magic == NOTES_SCOREBOARD_MAGIC else {
            throw SystemError("scoreboard fd \(fd) is not a scoreboard", code: EINVAL)
        }
        return scoreboard
    }

    private static func map(_ fd: Int32) throws(SystemError) -> Scoreboard {
        guard let memory = mmap(nil, MemoryLayout<notes_scoreboard>.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0),
              memory != MAP_FAILED else {
            let error = SystemError("mmap scoreboard")
            close(fd)
            throw error
        }
        return Scoreboard(fd: fd, board: memory.bindMemory(to: notes_scoreboard.self, capacity: 1))
    }

    // MARK: the supervisor's header

    public func publishSupervisor(pid: pid_t, startedAtUnixMicroseconds: Int64, listen: String) {
        board.pointee.supervisor_pid = pid
        board.pointee.started_at_unix_us = startedAtUnixMicroseconds
        withUnsafeMutableBytes(of: &board.pointee.listen) { copyCString(listen, into: $0) }
    }

    public func publish(generation: Int, targetWorkers: Int) {
        board.pointee.generation = UInt32(generation)
        board.pointee.target_workers = UInt32(targetWorkers)
    }

    public func countRestart(_ cause: RestartCause) {
        notes_counter_add(notes_scoreboard_restarts(board) + cause.index, 1)
    }

    public var header: Header {
        let counters: UnsafeMutablePointer<UInt64> = notes_scoreboard_restarts(board)
        let restarts = Dictionary(uniqueKeysWithValues: RestartCause.allCases.map { ($0, notes_counter_load(counters + $0.index)) })
        return Header(
            supervisorPID: board.pointee.supervisor_pid,
            startedAtUnixMicroseconds: board.pointee.started_at_unix_us,
            generation: Int(board.pointee.generation),
            targetWorkers: Int(board.pointee.target_workers),
            listen: withUnsafeBytes(of: board.pointee.listen) { stringFromCBytes($0) },
            retiredRequests: notes_counter_load(&board.pointee.retired_requests),
            restarts: restarts
        )
    }

    // MARK: slots

    /// Prepares slot `index` for a worker about to start (supervisor).
    public func prepareSlot(_ index: Int, generation: Int) {
        notes_slots_used_raise(&board.pointee.slots_used, UInt64(index + 1))
        withSlot(index) { slot in
            notes_slot_begin_write(slot)
            let sequence = slot.pointee.sequence
            slot.pointee = notes_worker_slot()
            slot.pointee.sequence = sequence
            slot.pointee.generation = UInt32(generation)
            slot.pointee.state = NOTES_STATE_STARTING.rawValue
            notes_slot_end_write(slot)
        }
    }

    /// Records the pid of the worker just started in slot `index` (supervisor), so that /status names a
    /// starting worker from the moment it exists rather than from its first own write.
    public func publishStartingPID(_ pid: pid_t, slot index: Int) {
        withSlot(index) { notes_slot_publish_pid($0, pid) }
    }

    /// Empties slot `index` once its worker is gone, counting what it served (supervisor).
    public func releaseSlot(_ index: Int) {
        let served = slot(index).requests
        notes_counter_add(&board.pointee.retired_requests, served)
        shareOccupancy(slot: index, .none)
        withSlot(index) { slot in
            notes_slot_begin_write(slot)
            slot.pointee.state = NOTES_STATE_FREE.rawValue
            slot.pointee.pid = 0
            notes_slot_end_write(slot)
        }
    }

    public func slot(_ index: Int) -> WorkerSlot {
        var copy = notes_worker_slot()
        withSlot(index) { notes_slot_read($0, &copy) }
        return WorkerSlot(copy)
    }

    /// The slots of workers that exist: a slot prepared for a worker not yet spawned has no pid.
    public var occupiedSlots: [WorkerSlot] {
        let used = min(Int(notes_slots_used_load(&board.pointee.slots_used)), Self.capacity)
        return (0..<used).map(slot).filter { $0.state != .free && $0.pid != 0 }
    }

    /// Requests accepted by all workers since the supervisor started.
    public var acceptedRequests: UInt64 {
        header.retiredRequests + occupiedSlots.reduce(0) { $0 + $1.requests }
    }

    /// The writer for one slot (worker).
    public func writer(slot index: Int) -> SlotWriter {
        precondition((0..<Self.capacity).contains(index), "slot \(index) out of range")
        return SlotWriter(scoreboard: self, slot: withSlot(index) { $0 })
    }

    private func withSlot<T>(_ index: Int, _ body: (UnsafeMutablePointer<notes_worker_slot>) -> T) -> T {
        body(notes_scoreboard_slots(board) + index)
    }
}

/// What a worker writes about itself. It keeps the scoreboard alive as long as it is used.
public struct SlotWriter {
    let scoreboard: Scoreboard
    let slot: UnsafeMutablePointer<notes_worker_slot>

    private func update(_ change: (inout notes_worker_slot) -> Void) {
        notes_slot_begin_write(slot)
        change(&slot.pointee)
        notes_slot_end_write(slot)
    }

    public func ready(pid: pid_t, generation: Int) {
        let now = monotonicNanoseconds()
        update {
            $0.pid = pid
            $0.generation = UInt32(generation)
            $0.state = NOTES_STATE_IDLE.rawValue
            $0.heartbeat_ns = now
        }
        scoreboard.shareOccupancy(slot: scoreboard.slotIndex(of: slot), .idle)
    }

    /// The worker is alive and waiting: the supervisor's watchdog reads this while the worker is not busy.
    public func heartbeat() {
        let now = monotonicNanoseconds()
        update { $0.heartbeat_ns = now }
    }

    public func requestStarted(method: String, path: String, requestID: String? = nil) {
        let now = monotonicNanoseconds()
        update { slot in
            // A worker told to stop still answers on the connections nginx keeps; it shows retiring until it goes.
            if slot.state != NOTES_STATE_RETIRING.rawValue { slot.state = NOTES_STATE_BUSY.rawValue }
            slot.request_started_ns = now
            withUnsafeMutableBytes(of: &slot.method) { copyCString(method, into: $0) }
            withUnsafeMutableBytes(of: &slot.path) { copyCString(path, into: $0) }
            withUnsafeMutableBytes(of: &slot.request_id) { copyCString(requestID ?? "", into: $0) }
        }
        scoreboard.shareOccupancy(slot: scoreboard.slotIndex(of: slot), .busy, from: .idle, now: now)
    }

    /// `count` requests answered together since `requestStarted`.
    public func requestsFinished(_ count: Int) {
        let now = monotonicNanoseconds()
        update { slot in
            if slot.state != NOTES_STATE_RETIRING.rawValue { slot.state = NOTES_STATE_IDLE.rawValue }
            slot.requests += UInt64(count)
            slot.last_request_ns = now - slot.request_started_ns
            slot.heartbeat_ns = now
            slot.statement_started_ns = 0
            slot.answering = 1
        }
        scoreboard.shareOccupancy(slot: scoreboard.slotIndex(of: slot), .idle, from: .busy, now: now)
    }

    /// The answers of the batch `requestsFinished` counted are written out (or given up on): nothing is in hand.
    public func answersWritten() {
        update { $0.answering = 0 }
    }

    /// The worker sent `statement` (with `count` - 1 more) to PostgreSQL and waits for the answer: the
    /// supervisor's slow-request log names it (its name only: parameters never reach the scoreboard).
    public func databaseWaitBegan(statement: String, count: Int) {
        let now = monotonicNanoseconds()
        update { slot in
            slot.statement_started_ns = now
            slot.statements = UInt32(truncatingIfNeeded: count)
            withUnsafeMutableBytes(of: &slot.statement) { copyCString(statement, into: $0) }
        }
    }

    /// PostgreSQL answered (or the wait ended otherwise): the worker runs its own code again.
    public func databaseWaitEnded() {
        update { $0.statement_started_ns = 0 }
    }

    /// The worker was told to stop (SIGTERM, SIGINT): it finishes what it has and leaves. /status shows it
    /// retiring from now on, not idle until it is reaped.
    public func stopping() {
        update { $0.state = NOTES_STATE_RETIRING.rawValue }
        scoreboard.shareOccupancy(slot: scoreboard.slotIndex(of: slot), .none)
    }

    /// The worker is leaving on its own; the supervisor reads the reason when it reaps it.
    public func retiring(_ reason: ExitReason) {
        update {
            $0.state = NOTES_STATE_RETIRING.rawValue
            $0.exit_reason = reason.rawValue
        }
        scoreboard.shareOccupancy(slot: scoreboard.slotIndex(of: slot), .none)
    }
}

/// Copies `text` into a fixed C buffer, truncated on a scalar boundary and always NUL-terminated: its UTF-8
/// bytes at once, since this runs several times per request (method, path, request id, each statement).
private func copyCString(_ text: String, into buffer: UnsafeMutableRawBufferPointer) {
    var text = text
    text.withUTF8 { bytes in
        var length = min(bytes.count, buffer.count - 1)
        // Cut before a continuation byte (10xxxxxx) would split a scalar: back up to its first byte.
        if length < bytes.count { while length > 0 && bytes[length] & 0xC0 == 0x80 { length -= 1 } }
        if length > 0 { buffer.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: length) }
        buffer[length] = 0
    }
}

private func stringFromCBytes(_ buffer: UnsafeRawBufferPointer) -> String {
    String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
}
