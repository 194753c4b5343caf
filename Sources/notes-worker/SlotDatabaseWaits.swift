import NotesStore
import Scoreboard

/// Shows the database's waits in the worker's scoreboard slot, where the supervisor's slow-request log reads them.
final class SlotDatabaseWaits: DatabaseWaitObserver {
    private let slot: SlotWriter

    init(slot: SlotWriter) {
        self.slot = slot
    }

    func databaseWaitBegan(statement: String, count: Int) {
        slot.databaseWaitBegan(statement: statement, count: count)
    }

    func databaseWaitEnded() {
        slot.databaseWaitEnded()
    }
}
