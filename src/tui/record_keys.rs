//! The record side's commands. Bound in [`keymap::BINDINGS`](super::keymap::BINDINGS) like every
//! other key, and handled in `app::records`.

/// What a key asks of the records pane or one of its dialogs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordCommand {
    /// Browse the n-th module (0-based: folder, album, address book).
    ShowModule(usize),
    Refresh,
    NewRecord,
    /// Open the detail view of the record under the cursor.
    Open,
    Complete,
    Delete,
    /// Mark or unmark the record under the cursor for a bulk delete.
    ToggleMark,
    /// Mark every record that matches the filter, or clear the marks when all are marked.
    MarkAll,
    LocalFilter,
    DeviceFilter,
    Cleanup,
    NextField,
    PreviousField,
    /// Step the form's module selector by this many places.
    ChangeModule(isize),
    /// Edit the properties of the form, or of the record being completed, in the user's own
    /// editor (`$VISUAL`, `$EDITOR`, else `vi`).
    EditProperties,
    NextPage,
    PreviousPage,
    /// Step the clean-up age threshold by this many presets.
    ChangeAge(isize),
    /// Clean-up: propose records marked `to be deleted`, or not.
    ToggleMarkedForDeletion,
}
