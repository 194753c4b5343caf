/// Told when this process begins and ends waiting on PostgreSQL, and for which statement: the worker shows
/// it in its scoreboard slot, so that the supervisor's slow-request log can tell a request stuck in the
/// database (a lock, a slow plan) from one stuck in the worker. Names only: parameters are never passed on.
public protocol DatabaseWaitObserver: AnyObject {
    /// `statement` was sent, with `count` - 1 more in the same round, and the answer is awaited.
    func databaseWaitBegan(statement: String, count: Int)
    func databaseWaitEnded()
}
