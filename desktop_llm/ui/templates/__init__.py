"""The templates feature: the editor, versions, the fill-in form, compare side by side, batch runs."""
