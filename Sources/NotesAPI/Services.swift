import NotesStore
import Scoreboard

/// What the handlers work with: the stores, the worker's database session (for the health check) and, under the supervisor,
/// the pool's scoreboard.
public struct Services {
    let database: Database
    let notes: NoteStore
    let authors: AuthorStore
    let articles: ArticleStore
    let scoreboard: Scoreboard?

    public init(database: Database, scoreboard: Scoreboard?) {
        self.database = database
        self.notes = NoteStore()
        self.authors = AuthorStore()
        self.articles = ArticleStore()
        self.scoreboard = scoreboard
    }

    /// Every statement the endpoints run, for the database to prepare when it connects.
    public static var statements: [PreparedStatement] {
        NoteStore.statements + AuthorStore.statements + ArticleStore.statements
    }
}
