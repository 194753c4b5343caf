import NotesStore
import Scoreboard

/// What the handlers work with: the stores, what runs their statements (and answers the health check) and,
/// under the supervisor, the pool's scoreboard.
public struct Services {
    let runner: any StatementRunner
    let stores: Stores
    let scoreboard: Scoreboard?

    public init(runner: any StatementRunner, scoreboard: Scoreboard?) {
        self.runner = runner
        self.stores = Stores()
        self.scoreboard = scoreboard
    }

    var notes: NoteStore { stores.notes }
    var authors: AuthorStore { stores.authors }
    var articles: ArticleStore { stores.articles }
}
