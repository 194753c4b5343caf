/// Which statements one connection has prepared, so that each is prepared the first time it runs there, by a
/// Prepare sent in the same pipeline just before it (no round trip of its own), rather than all of them when the
/// connection opens (most are never run by a given worker: a list has a statement per order and filter).
///
/// A statement counts as prepared from the moment its Prepare is sent, so a second run in the same pipeline uses
/// it; if that Prepare then fails or is skipped (an earlier statement of its transaction failed), it is forgotten
/// and prepared again the next time. A new connection starts with none.
struct LazyPreparation {
    private var prepared: Set<String> = []
    /// For each statement sent in the current pipeline, in order, whether a Prepare went just before it.
    private var preparesSent: [Bool] = []
    private var nextRead = 0

    /// A new pipeline: what was sent in the last one has been read or is lost with it.
    mutating func beginPipeline() {
        preparesSent.removeAll(keepingCapacity: true)
        nextRead = 0
    }

    /// Whether `name` must be prepared before it is sent now; from now on it counts as prepared.
    mutating func sending(_ name: String) -> Bool {
        let first = prepared.insert(name).inserted
        preparesSent.append(first)
        return first
    }

    /// Whether a Prepare went before the next statement whose outcome is read.
    mutating func readingPrepared() -> Bool {
        defer { nextRead += 1 }
        return nextRead < preparesSent.count && preparesSent[nextRead]
    }

    /// `name` is not (or no longer) prepared on the server: its Prepare failed or was skipped, or the server
    /// does not know it (SQLSTATE 26000).
    mutating func forget(_ name: String) {
        prepared.remove(name)
    }

    func isPrepared(_ name: String) -> Bool { prepared.contains(name) }
}
