import Testing
@testable import NotesStore

/// A connection prepares each statement with its first run there (`LazyPreparation`); the libpq side is
/// shown against PostgreSQL by the integration tests (every list, search and write runs through it).
@Suite struct LazyPreparationTests {
    @Test func aStatementIsPreparedWithItsFirstRunOnlyEvenTwiceInOnePipeline() {
        var preparation = LazyPreparation()
        preparation.beginPipeline()
        let v1 = preparation.sending("note_select")
        #expect(v1)
        let v2 = preparation.sending("note_select")
        #expect(!v2)
        let v3 = preparation.sending("note_page")
        #expect(v3)
        let v4 = preparation.readingPrepared()
        #expect(v4)
        let v5 = preparation.readingPrepared()
        #expect(!v5)
        let v6 = preparation.readingPrepared()
        #expect(v6)
        preparation.beginPipeline()
        let v7 = preparation.sending("note_select")
        #expect(!v7)
        let v8 = preparation.readingPrepared()
        #expect(!v8)
    }

    @Test func aStatementWhosePrepareFailedOrWasSkippedIsPreparedAgainWithItsNextRun() {
        var preparation = LazyPreparation()
        preparation.beginPipeline()
        let v9 = preparation.sending("note_select")
        #expect(v9)
        let v10 = preparation.readingPrepared()
        #expect(v10)
        preparation.forget("note_select")
        #expect(!preparation.isPrepared("note_select"))
        preparation.beginPipeline()
        let v11 = preparation.sending("note_select")
        #expect(v11)
        let v12 = preparation.readingPrepared()
        #expect(v12)
    }

    @Test func aNewConnectionStartsWithNothingPrepared() {
        var used = LazyPreparation()
        used.beginPipeline()
        _ = used.sending("note_select")
        var fresh = LazyPreparation()
        fresh.beginPipeline()
        let v13 = fresh.sending("note_select")
        #expect(v13)
    }

    @Test func readsBeyondWhatWasSentHadNoPrepare() {
        var preparation = LazyPreparation()
        preparation.beginPipeline()
        let v14 = preparation.readingPrepared()
        #expect(!v14)
    }
}
